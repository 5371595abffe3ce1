"""The OAuth 2 token endpoint, mounted at ``/ims/oneroster/token`` by ``shuyuan/urls.py``."""

from django.urls import URLPattern, path

from .views import token

urlpatterns: list[URLPattern] = [path("", token, name="oneroster_token")]
