import tempfile

from django.db import models

from edgecache_django.storage import PurgingFileSystemStorage


class Subject(models.Model):
    title = models.CharField(max_length=200)


class Topic(models.Model):
    name = models.CharField(max_length=100, unique=True)


class Course(models.Model):
    title = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    subject = models.ForeignKey(Subject, related_name="courses", on_delete=models.CASCADE)
    level = models.CharField(max_length=20, default="beginner")
    tags = models.ManyToManyField(Topic, related_name="courses", blank=True)

    class Meta:
        ordering = ["id"]


# Files under a temporary directory, served (in the worker's view) at /media/.
MEDIA_ROOT = tempfile.mkdtemp(prefix="edgecache-django-media-")
media_storage = PurgingFileSystemStorage(location=MEDIA_ROOT, base_url="/media/", allow_overwrite=True)


class Lesson(models.Model):
    title = models.CharField(max_length=200)
    attachment = models.FileField(storage=media_storage, upload_to="lessons", blank=True)
