#!/usr/bin/env python
"""manage.py of the package's test project (test_exit runs it as real processes)."""
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings_proc")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
