"""OneRoster 1.2 rostering service URLs (GET-only; see ``docs/apps/registry-oneroster.md``)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
