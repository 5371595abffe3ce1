from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ResourcesConfig(AppConfig):
    name = "shuyuan.resources"
    label = "resources"
    verbose_name = _("Digital resources")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import handlers, permissions  # noqa: F401  # importing handlers connects them

        permissions.register()
