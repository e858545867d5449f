from django.apps import AppConfig


class TestappConfig(AppConfig):
    name = "testapp"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import edgecache_django

        from .models import Course, Lesson

        edgecache_django.register(Course, tags=["course:{pk}", "course-slug:{slug}"], list_tags=["course_list"],
                                  related=["subject", "tags"])
        edgecache_django.register(Lesson, tags=["lesson:{pk}"])
