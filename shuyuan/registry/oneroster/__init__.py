"""The OneRoster 1.2 rostering REST API (``/ims/oneroster/rostering/v1p2/``) and CSV export."""
