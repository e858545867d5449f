"""Settings for the edgecache demo origin. Everything tunable comes from the environment."""
import mimetypes
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def env_list(name, default):
    value = os.environ.get(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "edgecache-demo-insecure-secret-key-do-not-use-in-production")
DEBUG = env_bool("DJANGO_DEBUG", False)
# The edgecache worker tells the origin the public host it was reached on
# (X-Forwarded-Host: the host the response is cached under), so links Django
# builds (DRF pagination, build_absolute_uri) point at the edge. Trust it only
# when the origin is reachable through the worker alone. ALLOWED_HOSTS must name
# the public host(s): in production, your API's domain.
USE_X_FORWARDED_HOST = env_bool("DJANGO_USE_X_FORWARDED_HOST", True)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
# In production behind the edge (TLS ends there; the worker sends
# X-Forwarded-Proto: https), set DJANGO_SECURE_PROXY=1 so links say https.
# `make dev` serves plain http on loopback, so the demo leaves it off there.
if env_bool("DJANGO_SECURE_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "edgecache_django",
    "catalogue",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Adds ETag to API responses and answers If-None-Match / If-Modified-Since with 304.
    "django.middleware.http.ConditionalGetMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "edgecache_demo.urls"
WSGI_APPLICATION = "edgecache_demo.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        # DJANGO_DB_PATH lets tests run against a copy of the demo database.
        "NAME": os.environ.get("DJANGO_DB_PATH") or BASE_DIR / "db.sqlite3",
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
FIXTURE_DIRS = [BASE_DIR / "fixtures"]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# Media at the worker: /media/ on the API's host (the worker's media route). Files
# saved or deleted through the default storage purge their URL (edgecache_django.storage).
MEDIA_URL = "/media/"
MEDIA_ROOT = BASE_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "edgecache_django.storage.PurgingFileSystemStorage", "OPTIONS": {"allow_overwrite": True}},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Some systems' /etc/mime.types map .bin elsewhere; the demo promises application/octet-stream.
mimetypes.add_type("application/octet-stream", ".bin")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
}

# --- edgecache (the edgecache-django package, integrations/django; docs/django.md) ---
# The environment names are the demo's (make dev and the end-to-end tests set them).
# An empty URL turns purging off, and `manage.py check` says so (edgecache.W001).
EDGECACHE = {
    "PURGE_URL": os.environ.get("EDGECACHE_PURGE_URL") or None,
    "SECRET": os.environ.get("EDGECACHE_PURGE_SECRET", ""),
    "TIMEOUT": float(os.environ.get("EDGECACHE_PURGE_TIMEOUT", "10")),
    "RETRIES": 3,
    # "sync": sent inside the commit hook, so a write answers after its purge was delivered.
    "ASYNC": "sync" if env_bool("EDGECACHE_PURGE_SYNC", False) else "thread",
    # Durable (production): each purge is a row written in the change's own transaction,
    # sent after the commit and retried until the worker acknowledges it; a process
    # killed right after a commit leaves the row for the next sender or for
    # `manage.py edgecache_deliver`. The table comes with the package's migration.
    "OUTBOX": env_bool("EDGECACHE_PURGE_OUTBOX", True),
}
if not EDGECACHE["PURGE_URL"]:
    del EDGECACHE["SECRET"]  # only read with a URL

TEST_RUNNER = "catalogue.testrunner.SummaryRunner"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "edgecache": {"handlers": ["console"], "level": os.environ.get("EDGECACHE_LOG_LEVEL", "INFO")},
    },
}
