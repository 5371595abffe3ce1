"""Resources pages: search."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
