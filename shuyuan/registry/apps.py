from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "shuyuan.registry"
    label = "registry"
    verbose_name = _("Base-data registry")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import permissions

        permissions.register()
