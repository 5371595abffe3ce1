"""Portal URLs of the resources app (``/resources/``), joined from each area's views module."""

from .views import evaluation, graph, review, search, submission

app_name = "resources"

urlpatterns = [
    *submission.urlpatterns,
    *review.urlpatterns,
    *graph.urlpatterns,
    *search.urlpatterns,
    *evaluation.urlpatterns,
]
