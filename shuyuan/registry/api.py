"""The registry's REST router (``/api/v1/registry/``): imports and batches for other programs.

The OneRoster 1.2 rostering API is separate (``oneroster/``, at ``/ims/oneroster/...``).
"""

from ninja import Router

router = Router(tags=["registry"])
