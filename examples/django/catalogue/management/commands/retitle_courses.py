from django.core.management.base import BaseCommand
from django.db import transaction

from catalogue.models import Course


class Command(BaseCommand):
    help = ("Retitle the first N courses in one transaction (each with save(), so signals fire): "
            "edgecache_django sends ONE purge webhook for all of them after the commit.")

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, default=20)
        parser.add_argument("--suffix", default=" (revised)")

    def handle(self, *args, count, suffix, **options):
        with transaction.atomic():
            courses = list(Course.objects.order_by("id")[:count])
            for course in courses:
                course.title = f"{course.title}{suffix}"
                course.save()
        self.stdout.write(f"retitled {len(courses)} courses: {', '.join(str(c.pk) for c in courses)}")
