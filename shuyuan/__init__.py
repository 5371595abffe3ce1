"""Shuyuan (数源): an open-source regional education platform."""

__version__ = "0.1.0"
