"""manage.py check reports every bad EDGECACHE setting with an id and a hint."""
from io import StringIO

from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import SimpleTestCase, override_settings

from edgecache_django import conf
from edgecache_django.checks import check_settings
from fake_worker import OLD_SECRET, SECRET

URL = "https://api.example.com/__edgecache/purge"


def ids(**setting):
    """The check ids, less edgecache.I001 (which delivery mode is on: every usable config has it)."""
    with override_settings(**setting):
        return [m.id for m in check_settings() if m.id != "edgecache.I001"]


class CheckTests(SimpleTestCase):
    def test_valid_settings_have_no_findings(self):
        self.assertEqual(ids(EDGECACHE={"PURGE_URL": URL, "SECRET": SECRET}), [])
        self.assertEqual(ids(EDGECACHE={"PURGE_URL": URL, "SECRETS": [SECRET, OLD_SECRET], "TIMEOUT": 2.5,
                                        "RETRIES": 0, "ASYNC": "sync"}), [])

    def test_missing_setting_is_an_error(self):
        with override_settings():
            from django.conf import settings
            del settings.EDGECACHE
            self.assertEqual([m.id for m in check_settings()], ["edgecache.E001"])
            with self.assertRaisesMessage(Exception, "edgecache.E001"):
                conf.load()

    def test_empty_url_is_a_loud_warning_not_silence(self):
        found = [(m.id, m.level) for m in check_settings()]  # the test settings: PURGE_URL None
        self.assertEqual([i for i, _ in found], ["edgecache.W001"])

    def test_each_malformed_field_has_its_id(self):
        cases = [
            ({"PURGE_URL": URL, "SECRET": SECRET, "SECRTES": []}, ["edgecache.E002"]),
            ({"SECRET": SECRET}, ["edgecache.E003"]),
            ({"PURGE_URL": "api.example.com/purge", "SECRET": SECRET}, ["edgecache.E003"]),
            ({"PURGE_URL": URL}, ["edgecache.E004"]),
            ({"PURGE_URL": URL, "SECRET": SECRET, "SECRETS": [SECRET]}, ["edgecache.E004"]),
            ({"PURGE_URL": URL, "SECRET": "whsec_c2hvcnQ="}, ["edgecache.E005"]),  # 5 bytes
            ({"PURGE_URL": URL, "SECRET": "whsec_not base64!"}, ["edgecache.E005"]),
            ({"PURGE_URL": URL, "SECRET": ""}, ["edgecache.E005"]),
            ({"PURGE_URL": URL, "SECRETS": SECRET}, ["edgecache.E005"]),
            ({"PURGE_URL": URL, "SECRET": SECRET, "TIMEOUT": "5"}, ["edgecache.E006"]),
            ({"PURGE_URL": URL, "SECRET": SECRET, "TIMEOUT": 0}, ["edgecache.E006"]),
            ({"PURGE_URL": URL, "SECRET": SECRET, "RETRIES": -1}, ["edgecache.E007"]),
            ({"PURGE_URL": URL, "SECRET": SECRET, "ASYNC": "celery"}, ["edgecache.E008"]),
            ({"PURGE_URL": URL, "SECRET": SECRET, "ASYNC": "no.such.module.hook"}, ["edgecache.E008"]),
        ]
        for setting, want in cases:
            with self.subTest(setting=setting):
                self.assertEqual(ids(EDGECACHE=setting), want)
        self.assertEqual(ids(EDGECACHE="https://x"), ["edgecache.E002"])

    def test_unknown_key_hint_suggests_the_right_one(self):
        with override_settings(EDGECACHE={"PURGE_URL": URL, "SECRET": SECRET, "TIMOUT": 3}):
            (m,) = [m for m in check_settings() if m.id != "edgecache.I001"]
        self.assertEqual(m.hint, "Did you mean 'TIMEOUT'?")

    def test_manage_py_check_fails_with_the_id_and_hint(self):
        with override_settings(EDGECACHE={"PURGE_URL": URL}):
            with self.assertRaises(SystemCheckError) as cm:
                call_command("check", stdout=StringIO(), stderr=StringIO())
        self.assertIn("edgecache.E004", str(cm.exception))
        self.assertIn("HINT:", str(cm.exception))

    def test_runtime_refuses_a_bad_config_instead_of_skipping(self):
        with override_settings(EDGECACHE={"PURGE_URL": URL, "SECRET": "whsec_c2hvcnQ="}):
            with self.assertRaisesMessage(Exception, "edgecache.E005"):
                conf.load()
