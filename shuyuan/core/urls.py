"""Portal URLs of the core app, mounted at ``/orgs/``: the org tree, the change log and the audit
log."""

from django.urls import path

from . import views

app_name = "core"
urlpatterns = [
    path("", views.org_list, name="org_list"),
    path("new/", views.org_create, name="org_create"),
    path("<int:pk>/", views.org_detail, name="org_detail"),
    path("<int:pk>/edit/", views.org_edit, name="org_edit"),
    path("<int:pk>/move/", views.org_move, name="org_move"),
    path("changelog/", views.changelog, name="changelog"),
    path("changelog/verify/", views.changelog_verify, name="changelog_verify"),
    path("audit-events/", views.audit_events, name="audit_events"),
]
