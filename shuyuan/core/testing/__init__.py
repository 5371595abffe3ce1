"""Test helpers shared by every app's tests, offered as fixtures by the root ``conftest.py``."""
