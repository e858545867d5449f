from django.db import models


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
