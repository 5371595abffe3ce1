from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IdentityConfig(AppConfig):
    name = "shuyuan.identity"
    label = "identity"
    verbose_name = _("Identity")

    def ready(self) -> None:
        from . import middleware, permissions

        permissions.register()
        middleware.connect_signals()
