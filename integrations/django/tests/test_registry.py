"""register(): row tags, list tags, relations, many-to-many, deletes."""
from django.db import transaction
from django.test import SimpleTestCase, TransactionTestCase

from edgecache_django.registry import render, tags_for_objects
from fake_worker import WorkerMixin
from testapp.models import Course, Subject, Topic


class RegistryTests(WorkerMixin, TransactionTestCase):
    def setUp(self):
        super().setUp()
        self.subject = Subject.objects.create(title="Design")
        self.other = Subject.objects.create(title="Maths")
        self.c1 = Course.objects.create(title="a", slug="a", subject=self.subject)
        self.c2 = Course.objects.create(title="b", slug="b", subject=self.subject)
        self.c3 = Course.objects.create(title="c", slug="c", subject=self.other)
        self.topic = Topic.objects.create(name="t")
        self.worker.requests.clear()

    def tags(self):
        return [b["tags"] for b in self.worker.bodies()]

    def test_save_and_delete(self):
        self.c1.save()
        pk = self.c1.pk
        self.c1.delete()
        self.assertEqual(self.tags(), [["course_list", f"course:{pk}", "course-slug:a"]] * 2)

    def test_related_change_purges_its_rows(self):
        self.subject.title = "Design!"
        self.subject.save()
        self.assertEqual(self.tags(), [["course_list", f"course:{self.c1.pk}", "course-slug:a",
                                        f"course:{self.c2.pk}", "course-slug:b"]])

    def test_new_related_row_purges_nothing(self):
        Subject.objects.create(title="New")
        self.assertEqual(self.worker.requests, [])

    def test_related_delete_purges_what_it_showed_once(self):
        self.subject.delete()  # cascades to c1, c2: one transaction, one webhook
        (tags,) = self.tags()
        self.assertEqual(sorted(tags), sorted(["course_list", f"course:{self.c1.pk}", "course-slug:a",
                                               f"course:{self.c2.pk}", "course-slug:b"]))

    def test_m2m_both_sides(self):
        self.c1.tags.add(self.topic)
        self.c1.tags.add(self.topic)  # already there: no change, no purge
        self.c1.tags.remove(self.topic)
        self.topic.courses.add(self.c2, self.c3)
        self.topic.courses.clear()
        one = ["course_list", f"course:{self.c1.pk}", "course-slug:a"]
        two = ["course_list", f"course:{self.c2.pk}", "course-slug:b", f"course:{self.c3.pk}", "course-slug:c"]
        self.assertEqual(self.tags(), [one, one, two, two])

    def test_topic_rename_purges_its_courses(self):
        self.c3.tags.add(self.topic)
        self.worker.requests.clear()
        self.topic.name = "renamed"
        self.topic.save()
        self.assertEqual(self.tags(), [["course_list", f"course:{self.c3.pk}", "course-slug:c"]])

    def test_loaddata_style_raw_saves_are_not_changes(self):
        from django.db.models.signals import post_save
        post_save.send(Course, instance=self.c1, created=False, raw=True, using="default", update_fields=None)
        self.assertEqual(self.worker.requests, [])


class RenderTests(SimpleTestCase):
    def test_values_are_escaped_like_the_worker_escapes_path_params(self):
        course = Course(pk=1, slug="a b,c")
        self.assertEqual(render("course-slug:{slug}", course), ["course-slug:a%20b%2Cc"])
        self.assertEqual(render(lambda o: [f"x:{o.pk}"], course), ["x:1"])

    def test_unregistered_model_is_an_error(self):
        with self.assertRaises(ValueError):
            tags_for_objects([Subject(pk=1)])
