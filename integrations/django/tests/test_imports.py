"""The package imports one way, lowest first, and installs nothing on import.

Read from the installed package's sources with `ast` (no module is executed): each
module may import only modules below it in LAYERS; no import hides in a function
or class (it would hide the real order); no module-level statement does anything
but define (a bare call, a registering decorator): `EdgecacheConfig.ready()` is the
one place side effects are installed.
"""
import ast
import functools
import os

from django.test import SimpleTestCase

import edgecache_django

PACKAGE = "edgecache_django"
ROOT = os.path.dirname(edgecache_django.__file__)
# Lowest first. `models` is the outbox table (Django imports it; the package reaches
# it through the app registry, so nothing imports it). The top layer (the package's
# face, its commands and migrations) may import anything; nothing imports it.
LAYERS = ["payload", "conf", "models", "outbox", "sender", "batch", "storage", "registry", "cache", "routes", "checks",
          "apps"]
TOP = ("__init__", "management", "migrations")


@functools.cache
def modules():
    """{dotted name below the package: path} for every .py file of the package."""
    out = {}
    for folder, _, files in os.walk(ROOT):
        for name in files:
            if name.endswith(".py"):
                rel = os.path.relpath(os.path.join(folder, name), ROOT)[:-3].replace(os.sep, ".")
                out[rel] = os.path.join(folder, name)
    return out


def layer(module):
    """The rank of a module (dotted, below the package); TOP modules rank above all."""
    head = module.split(".")[0]
    if head in TOP or module.endswith("__init__"):
        return len(LAYERS)
    return LAYERS.index(head)


def package_imports(module, tree):
    """(line, imported module below the package) for every import of the package's own modules."""
    package_parts = [PACKAGE, *module.split(".")[:-1]]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_parts[: len(package_parts) - node.level + 1]
            elif node.module and node.module.split(".")[0] == PACKAGE:
                base = []
            else:
                continue
            target = [*base, *(node.module.split(".") if node.module else [])]
            for alias in node.names:
                # `from . import conf` names a module; `from .payload import Purge` a name in one.
                full = ".".join(target[1:] + [alias.name])
                yield node.lineno, full if full in modules() else ".".join(target[1:])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE:
                    yield node.lineno, alias.name.split(".", 1)[1] if "." in alias.name else "__init__"


def nested_imports(tree):
    """Lines of imports inside a function or class body."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            for inner in ast.walk(node):
                if isinstance(inner, (ast.Import, ast.ImportFrom)):
                    yield inner.lineno
                elif isinstance(inner, ast.Call) and getattr(inner.func, "id", getattr(inner.func, "attr", "")) in (
                        "import_module", "__import__"):
                    yield inner.lineno


def module_level_actions(tree):
    """Lines of module-level statements that do something on import (a call, a decorator)."""
    for node in tree.body:
        if isinstance(node, ast.Expr) and not isinstance(node.value, ast.Constant):
            yield node.lineno
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for deco in node.decorator_list:
                name = ast.unparse(deco)
                if "register" in name or "receiver" in name or "connect" in name:
                    yield deco.lineno
        elif isinstance(node, (ast.For, ast.While, ast.With, ast.Try)):
            yield node.lineno


class ImportOrderTests(SimpleTestCase):
    def test_every_module_has_a_layer(self):
        for module in modules():
            with self.subTest(module=module):
                head = module.split(".")[0]
                self.assertTrue(head in LAYERS or head in TOP or module == "__init__",
                                f"{module}.py: put it in LAYERS of this test (lowest first)")

    def test_imports_go_down_only(self):
        found = []
        for module, path in modules().items():
            tree = ast.parse(open(path).read(), path)
            for line, target in package_imports(module, tree):
                if layer(target) >= layer(module):
                    found.append(f"{module}.py:{line} imports {target} (same layer or above)")
        self.assertEqual(found, [])

    def test_no_import_inside_a_function_or_class(self):
        found = []
        for module, path in modules().items():
            tree = ast.parse(open(path).read(), path)
            found += [f"{module}.py:{line}" for line in nested_imports(tree)]
        self.assertEqual(found, [])

    def test_importing_installs_nothing(self):
        found = []
        for module, path in modules().items():
            if module.startswith("migrations."):
                continue
            tree = ast.parse(open(path).read(), path)
            found += [f"{module}.py:{line}" for line in module_level_actions(tree)]
        self.assertEqual(found, [])

    def test_the_checker_sees_a_violation(self):
        # The checker itself: an upward import, a nested one, an import-time call.
        tree = ast.parse("from .registry import register\n"
                         "def f():\n    from . import checks\n"
                         "checks.register(f)\n")
        self.assertEqual([t for _, t in package_imports("batch", tree)], ["registry", "checks"])
        self.assertGreater(layer("registry"), layer("batch"))
        self.assertEqual(list(nested_imports(tree)), [3])
        self.assertEqual(list(module_level_actions(tree)), [4])
