from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...routes import collect, to_toml


class Command(BaseCommand):
    help = ("Print [[vars.EDGECACHE.routes]] TOML for the views cached with edge_cache / EdgeCacheMixin, "
            "for wrangler.toml (check it with `edgecache check`).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--origin", help="also print [vars.EDGECACHE] with this origin (a complete config)")
        parser.add_argument("--env", help="write the tables of wrangler environment ENV ([env.ENV.vars.EDGECACHE])")
        parser.add_argument("--urlconf", help="a URLconf module other than ROOT_URLCONF")

    def handle(self, *args: Any, origin: str | None, env: str | None, urlconf: str | None, **options: Any) -> None:
        routes, skipped = collect(urlconf)
        for why in skipped:
            self.stderr.write(f"skipped {why}")
        if not routes:
            raise CommandError("no view is edge-cached (edge_cache decorator or EdgeCacheMixin): no routes to print")
        table = f"env.{env}.vars.EDGECACHE" if env else "vars.EDGECACHE"
        self.stdout.write(f"# written by `manage.py edgecache_routes`: {len(routes)} routes\n")
        if origin:
            self.stdout.write(f"[{table}]\norigin = \"{origin}\"\n\n")
        self.stdout.write(to_toml(routes, table))
