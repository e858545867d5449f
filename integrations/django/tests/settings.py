"""Settings of the package's test project (an in-memory SQLite database)."""
SECRET_KEY = "edgecache-django-tests"
DEBUG = False
ALLOWED_HOSTS = ["testserver"]
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
    "django_filters",
    "edgecache_django",
    "testapp",
]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "testapp.urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
# Purging off by default (warning edgecache.W001); tests turn it on against a fake worker.
EDGECACHE = {"PURGE_URL": None}
REST_FRAMEWORK = {"DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"]}
import os  # noqa: E402

# Delivery logs (retries, give-ups) stay out of the runner's output unless asked for.
LOGGING = {"version": 1, "disable_existing_loggers": False,
           "loggers": {"edgecache": {"level": os.environ.get("EDGECACHE_LOG_LEVEL", "CRITICAL")}}}
