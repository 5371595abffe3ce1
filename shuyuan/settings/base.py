"""Shuyuan settings: every value comes from the environment (see docs/dev/configuration.md).

Two modes:

* ``SHUYUAN_ENV=production`` (the default): DEBUG off, a real secret key and real PII keys are
  required, HTTPS-only cookies and HSTS; ``manage.py check --deploy`` passes with no warnings.
* ``SHUYUAN_ENV=development``: what the embedded one-command set-up (``scripts/run``) selects:
  DEBUG on, SQLite, keys derived from a development secret, plain HTTP on localhost.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
PROJECT_DIR = BASE_DIR.parent


def env(name: str, default: str | None = None) -> str | None:
    """Return ``SHUYUAN_<name>`` from the environment, or ``default``."""
    return os.environ.get(f"SHUYUAN_{name}", default)


def env_bool(name: str, default: bool) -> bool:
    value = env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in (env(name, default) or "").split(",") if item.strip()]


SHUYUAN_ENV = env("ENV", "production")
if SHUYUAN_ENV not in {"production", "development"}:
    raise ImproperlyConfigured("SHUYUAN_ENV must be 'production' or 'development'.")
DEVELOPMENT = SHUYUAN_ENV == "development"
DEBUG = env_bool("DEBUG", DEVELOPMENT)

_DEV_SECRET = "development-only-secret-key-do-not-use-in-production-8f3k2j5h7g9d1s"  # noqa: S105  # dev only
SECRET_KEY = env("SECRET_KEY") or (_DEV_SECRET if DEVELOPMENT else "")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "SHUYUAN_SECRET_KEY is required in production "
        "(set SHUYUAN_ENV=development for a local run)."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEVELOPMENT else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# --- PII encryption (SM4-GCM) and blind index (keyed SM3) -------------------------------------
# SHUYUAN_PII_KEYS="1:<32 hex>,2:<32 hex>"; SHUYUAN_PII_ACTIVE_KEY=2; SHUYUAN_BLIND_INDEX_KEY=<hex>
# In development they are derived from the secret key so the embedded set-up needs nothing.
SHUYUAN_PII_KEYS = env("PII_KEYS")
SHUYUAN_PII_ACTIVE_KEY = int(env("PII_ACTIVE_KEY", "1") or "1")
SHUYUAN_BLIND_INDEX_KEY = env("BLIND_INDEX_KEY")
if not DEVELOPMENT and not (SHUYUAN_PII_KEYS and SHUYUAN_BLIND_INDEX_KEY):
    raise ImproperlyConfigured(
        "SHUYUAN_PII_KEYS and SHUYUAN_BLIND_INDEX_KEY are required in production."
    )

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "csp",
    "django_tasks",
    "django_tasks_db",
    "ninja",
    "shuyuan.core",
    "shuyuan.identity",
    "shuyuan.registry",
    "shuyuan.resources",
    "shuyuan.learning",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "shuyuan.identity.middleware.SessionGuardMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    "shuyuan.core.middleware.RequestContextMiddleware",
]

ROOT_URLCONF = "shuyuan.urls"
WSGI_APPLICATION = "shuyuan.wsgi.application"
ASGI_APPLICATION = "shuyuan.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "shuyuan.identity.context_processors.navigation",
            ],
        },
    }
]

# --- Database ---------------------------------------------------------------------------------
VAR_DIR = Path(env("VAR_DIR", str(PROJECT_DIR / "var")) or "var")
_default_db = f"sqlite:///{VAR_DIR / 'shuyuan.sqlite3'}" if DEVELOPMENT else None
DATABASE_URL = env("DATABASE_URL", _default_db)
if not DATABASE_URL:
    raise ImproperlyConfigured("SHUYUAN_DATABASE_URL is required in production.")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions serialise writers up front, so the change-log chain head is never
    # read by two writers at once; WAL lets readers continue while one writer works.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and sessions -----------------------------------------------------------------------
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "shuyuan",
        }
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.cache"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = int(env("SESSION_AGE", str(8 * 3600)) or 28800)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- Background work (django.tasks backport) --------------------------------------------------
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "bulk", "index"],
    }
}

# --- Authentication ---------------------------------------------------------------------------
AUTH_USER_MODEL = "identity.User"
AUTHENTICATION_BACKENDS = ["shuyuan.identity.backends.IdentifierBackend"]
LOGIN_URL = "identity:login"
LOGIN_REDIRECT_URL = "identity:home"
LOGOUT_REDIRECT_URL = "identity:login"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "shuyuan.identity.passwords.CharacterClassValidator"},
]

# --- i18n -------------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [PROJECT_DIR / "locale", BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static and media -------------------------------------------------------------------------
STATIC_URL = "/static/"
# The project-wide stylesheet (shuyuan/static/) belongs to no app, so it is listed here.
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env("STATIC_ROOT", str(VAR_DIR / "static")) or "")
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(VAR_DIR / "media")) or "")
# Uploaded files (resources) go to MEDIA_ROOT unless SHUYUAN_S3_BUCKET names an S3-compatible
# bucket (needs the ``s3`` extra: django-storages + boto3); see docs/dev/configuration.md.
S3_BUCKET = env("S3_BUCKET")
DEFAULT_STORAGE: dict[str, Any] = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
if S3_BUCKET:
    DEFAULT_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": env("S3_ENDPOINT_URL") or None,
            "region_name": env("S3_REGION") or None,
            "access_key": env("S3_ACCESS_KEY") or None,
            "secret_key": env("S3_SECRET_KEY") or None,
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
STORAGES = {
    "default": DEFAULT_STORAGE,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Security ---------------------------------------------------------------------------------
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
if not DEVELOPMENT:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(env("HSTS_SECONDS", "31536000") or 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    if env_bool("BEHIND_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
#: How many reverse proxies in front of Shuyuan append to X-Forwarded-For (0: use REMOTE_ADDR).
SHUYUAN_TRUSTED_PROXY_COUNT = int(env("TRUSTED_PROXY_COUNT", "0") or 0)
SHUYUAN_LOGIN_IP_LIMIT = int(env("LOGIN_IP_LIMIT", "50") or 50)
SHUYUAN_LOGIN_IP_WINDOW_SECONDS = int(env("LOGIN_IP_WINDOW_SECONDS", "900") or 900)
SHUYUAN_MFA_ISSUER = env("MFA_ISSUER", "Shuyuan")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
}

# --- Shuyuan ----------------------------------------------------------------------------------
SHUYUAN_LOCKOUT_THRESHOLD = int(env("LOCKOUT_THRESHOLD", "5") or 5)
SHUYUAN_LOCKOUT_BASE_SECONDS = int(env("LOCKOUT_BASE_SECONDS", "60") or 60)
SHUYUAN_LOCKOUT_MAX_SECONDS = int(env("LOCKOUT_MAX_SECONDS", "3600") or 3600)
SHUYUAN_SIGNING_ALGORITHM = env("SIGNING_ALGORITHM", "SM2")

# --- registry (base data) ---------------------------------------------------------------------
REGISTRY_MAX_UPLOAD_BYTES = int(env("REGISTRY_MAX_UPLOAD_BYTES", str(2 * 1024**3)) or 0)
REGISTRY_MAX_UNCOMPRESSED_BYTES = int(env("REGISTRY_MAX_UNCOMPRESSED_BYTES", str(8 * 1024**3)) or 0)
REGISTRY_MAX_COMPRESSION_RATIO = int(env("REGISTRY_MAX_COMPRESSION_RATIO", "200") or 200)
REGISTRY_TIMELINESS_DAYS = int(env("REGISTRY_TIMELINESS_DAYS", "365") or 365)
SHUYUAN_ONEROSTER_CLIENT_FAILURE_LIMIT = int(env("ONEROSTER_CLIENT_FAILURE_LIMIT", "10") or 10)
SHUYUAN_ONEROSTER_IP_FAILURE_LIMIT = int(env("ONEROSTER_IP_FAILURE_LIMIT", "50") or 50)
SHUYUAN_ONEROSTER_FAILURE_WINDOW_SECONDS = int(
    env("ONEROSTER_FAILURE_WINDOW_SECONDS", "900") or 900
)

# --- resources (digital resource service); defaults in shuyuan/resources/conf.py ---------------
RESOURCES_MAX_UPLOAD_BYTES = int(env("RESOURCES_MAX_UPLOAD_BYTES", str(500 * 1024**2)) or 0)
RESOURCES_MAX_UNCOMPRESSED_BYTES = int(env("RESOURCES_MAX_UNCOMPRESSED_BYTES", str(1024**3)) or 0)
RESOURCES_MAX_COMPRESSION_RATIO = int(env("RESOURCES_MAX_COMPRESSION_RATIO", "100") or 100)
RESOURCES_MAX_EXTRACTED_CHARS = int(env("RESOURCES_MAX_EXTRACTED_CHARS", "200000") or 200000)
RESOURCES_CERT_SIGNING_KEY = env("RESOURCES_CERT_SIGNING_KEY", "") or ""
if not DEVELOPMENT and not RESOURCES_CERT_SIGNING_KEY:
    raise ImproperlyConfigured("SHUYUAN_RESOURCES_CERT_SIGNING_KEY is required in production.")
RESOURCES_CERT_PREFIX = env("RESOURCES_CERT_PREFIX", "SYZY") or "SYZY"
RESOURCES_CERT_PREVIOUS_PUBLIC_KEYS = env_list("RESOURCES_CERT_PREVIOUS_PUBLIC_KEYS")

# --- learning (xAPI LRS, learning spaces); defaults in shuyuan/learning/conf.py ----------------
LEARNING_XAPI_ACCOUNT_HOMEPAGE = (
    env("LEARNING_XAPI_ACCOUNT_HOMEPAGE", "https://shuyuan.example.cn/")
    or "https://shuyuan.example.cn/"
)
LEARNING_XAPI_PAGE_SIZE = int(env("LEARNING_XAPI_PAGE_SIZE", "100") or 100)
LEARNING_XAPI_MAX_BODY_BYTES = int(env("LEARNING_XAPI_MAX_BODY_BYTES", str(20 * 1024**2)) or 0)
LEARNING_XAPI_TOKEN_SECONDS = int(env("LEARNING_XAPI_TOKEN_SECONDS", "3600") or 3600)
LEARNING_EXAM_GRACE_SECONDS = int(env("LEARNING_EXAM_GRACE_SECONDS", "20") or 20)
LEARNING_DIAGNOSIS_CORRECT_FRACTION = float(
    env("LEARNING_DIAGNOSIS_CORRECT_FRACTION", "0.6") or 0.6
)
