"""Settings of the test project run as real processes (test_exit): a database file and
EDGECACHE from the environment (JSON), the edgecache log on stderr."""
import json
import os

from settings import *  # noqa: F401,F403

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["EDGECACHE_TEST_DB"],
                         "OPTIONS": {"timeout": 20}}}
EDGECACHE = json.loads(os.environ.get("EDGECACHE_TEST_SETTING", '{"PURGE_URL": null}'))
LOGGING = {"version": 1, "disable_existing_loggers": False,
           "handlers": {"stderr": {"class": "logging.StreamHandler"}},
           "loggers": {"edgecache": {"handlers": ["stderr"], "level": "INFO"}}}
