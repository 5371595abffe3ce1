"""Portal URLs of the learning app under /learning/ (each area's views module lists its own)."""

from .views.clients import urlpatterns as client_urlpatterns
from .views.diagnosis import urlpatterns as diagnosis_urlpatterns
from .views.items import urlpatterns as item_urlpatterns
from .views.papers import urlpatterns as paper_urlpatterns
from .views.sitting import urlpatterns as sitting_urlpatterns
from .views.spaces import urlpatterns as space_urlpatterns

app_name = "learning"

urlpatterns = [
    *space_urlpatterns,
    *client_urlpatterns,
    *sitting_urlpatterns,
    *paper_urlpatterns,
    *item_urlpatterns,
    *diagnosis_urlpatterns,
]
