"""Test settings: development mode, a fast hasher, tasks inline, an in-memory SQLite default."""

import os

os.environ.setdefault("SHUYUAN_ENV", "development")
os.environ.setdefault("SHUYUAN_DATABASE_URL", "sqlite://:memory:")

from .base import *  # noqa: F403  # settings module pattern
from .base import DATABASES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed; argon2 tested apart
TASKS = {
    "default": {
        "BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
        "QUEUES": ["default", "bulk", "index"],
    }
}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["TEST"] = {"NAME": ""}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
SESSION_ENGINE = "django.contrib.sessions.backends.db"
STATIC_ROOT = None  # type: ignore[assignment]  # static files come from the finders in tests; nothing is collected
