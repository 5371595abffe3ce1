"""URLs of the LRS under /xapi/ (each with or without a trailing slash)."""

from django.urls import re_path

from . import about, documents, statements, token
from .http import xapi_endpoint

app_name = "xapi"

urlpatterns = [
    re_path(
        r"^about/?$",
        xapi_endpoint({"GET": about.about}, auth_required=False, versioned=False),
        name="about",
    ),
    re_path(
        r"^statements/?$",
        xapi_endpoint({"GET": statements.get, "PUT": statements.put, "POST": statements.post}),
        name="statements",
    ),
    re_path(
        r"^activities/state/?$",
        xapi_endpoint(
            {
                "GET": documents.state_get,
                "PUT": documents.state_put,
                "POST": documents.state_post,
                "DELETE": documents.state_delete,
            }
        ),
        name="state",
    ),
    re_path(
        r"^activities/profile/?$",
        xapi_endpoint(
            {
                "GET": documents.activity_profile_get,
                "PUT": documents.activity_profile_put,
                "POST": documents.activity_profile_post,
                "DELETE": documents.activity_profile_delete,
            }
        ),
        name="activity_profile",
    ),
    re_path(r"^activities/?$", xapi_endpoint({"GET": documents.activities_get}), name="activities"),
    re_path(
        r"^agents/profile/?$",
        xapi_endpoint(
            {
                "GET": documents.agent_profile_get,
                "PUT": documents.agent_profile_put,
                "POST": documents.agent_profile_post,
                "DELETE": documents.agent_profile_delete,
            }
        ),
        name="agent_profile",
    ),
    re_path(r"^agents/?$", xapi_endpoint({"GET": documents.agents_get}), name="agents"),
    re_path(r"^oauth/token/?$", token.token, name="token"),
]
