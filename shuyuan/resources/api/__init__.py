"""The resources REST API (``/api/v1/resources/``): one router made of each area's router."""

from ninja import Router

from .evaluation import router as evaluation_router
from .graph import router as graph_router
from .review import router as review_router
from .search import router as search_router
from .submission import router as submission_router

router = Router(tags=["resources"])
router.add_router("", submission_router)
router.add_router("", review_router)
router.add_router("", graph_router)
router.add_router("", search_router)
router.add_router("", evaluation_router)
