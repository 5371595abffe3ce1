"""Root URLs: the portal (no language prefix; LocaleMiddleware + a switch), the REST API."""

from django.urls import include, path

from .api import api

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    path("orgs/", include("shuyuan.core.urls")),
    path("registry/", include("shuyuan.registry.urls")),
    path("resources/", include("shuyuan.resources.urls")),
    path("learning/", include("shuyuan.learning.urls")),
    path("xapi/", include("shuyuan.learning.xapi.urls")),
    path("ims/oneroster/rostering/v1p2/", include("shuyuan.registry.oneroster.urls")),
    path("ims/oneroster/token", include("shuyuan.registry.oneroster.token_urls")),
    path("", include("shuyuan.identity.urls")),
]

handler403 = "shuyuan.core.views.error_403"
handler404 = "shuyuan.core.views.error_404"
