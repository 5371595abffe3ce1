"""OneRoster 1.2 rostering service URLs (GET-only; see ``docs/apps/registry-oneroster.md``).

Nested paths come before the single reads, whose ``sourcedId`` may contain ``/`` (the GUID
alphabet allows it). Anything else under the base path is a 404 ``unknownobject``.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, re_path

from .queries import COLLECTIONS
from .views import dispatch

_NESTED = [
    ("classes/<str:id0>/students", "class_students"),
    ("classes/<str:id0>/teachers", "class_teachers"),
    ("courses/<str:id0>/classes", "course_classes"),
    ("schools/<str:id0>/classes", "school_classes"),
    ("schools/<str:id0>/classes/<str:id1>/enrollments", "school_class_enrollments"),
    ("schools/<str:id0>/classes/<str:id1>/students", "school_class_students"),
    ("schools/<str:id0>/classes/<str:id1>/teachers", "school_class_teachers"),
    ("schools/<str:id0>/courses", "school_courses"),
    ("schools/<str:id0>/enrollments", "school_enrollments"),
    ("schools/<str:id0>/students", "school_students"),
    ("schools/<str:id0>/teachers", "school_teachers"),
    ("schools/<str:id0>/terms", "school_terms"),
    ("students/<str:id0>/classes", "student_classes"),
    ("teachers/<str:id0>/classes", "teacher_classes"),
    ("terms/<str:id0>/classes", "term_classes"),
    ("terms/<str:id0>/gradingPeriods", "term_grading_periods"),
    ("users/<str:id0>/classes", "user_classes"),
]


def _nested_view(name: str) -> Callable[..., HttpResponse]:
    def view(request: HttpRequest, id0: str, id1: str | None = None) -> HttpResponse:
        ids = [id0] if id1 is None else [id0, id1]
        return dispatch(request, kind="nested", nested=name, ids=ids)

    return view


urlpatterns: list[URLPattern] = [
    *[path(route, _nested_view(name), name=f"oneroster_{name}") for route, name in _NESTED],
    *[
        path(name, dispatch, {"kind": "list", "collection": name}, name=f"oneroster_{name}")
        for name in COLLECTIONS
    ],
    *[
        path(
            f"{name}/<path:sourced_id>",
            dispatch,
            {"kind": "single", "collection": name},
            name=f"oneroster_{name}_single",
        )
        for name in COLLECTIONS
    ],
    re_path(r"^.*$", dispatch, {"kind": "unknown"}, name="oneroster_unknown"),
]
