from django.apps import AppConfig


class CatalogueConfig(AppConfig):
    name = "catalogue"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        import edgecache_django

        from .models import Course

        # Every page and filter of the list carries course_list; a detail carries
        # course:<pk> (the routes of wrangler.toml). A subject or topic change purges
        # the courses that show it; many-to-many changes and deletes too.
        edgecache_django.register(Course, tags=["course:{pk}"], list_tags=["course_list"], related=["subject", "tags"])
