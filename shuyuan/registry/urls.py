"""Registry portal URLs (mounted at ``/registry/``): each views module contributes its own."""

from .views import catalog, export, imports, quality, records

app_name = "registry"

urlpatterns = [
    *imports.urlpatterns,
    *records.urlpatterns,
    *quality.urlpatterns,
    *catalog.urlpatterns,
    *export.urlpatterns,
]
