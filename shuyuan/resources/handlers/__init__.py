"""Receivers of the resources app's signals, one module per area; connected in ``ready()``."""

from . import certificates, review, search

__all__ = ["certificates", "review", "search"]
