from rest_framework import serializers

from .models import Course, Subject, Topic


class CourseSerializer(serializers.ModelSerializer):
    # Writable by slug / name, so clients never need internal ids of related rows.
    subject = serializers.SlugRelatedField(slug_field="slug", queryset=Subject.objects.all())
    subject_title = serializers.CharField(source="subject.title", read_only=True)
    tags = serializers.SlugRelatedField(
        slug_field="name", many=True, queryset=Topic.objects.all(), required=False
    )

    class Meta:
        model = Course
        fields = [
            "id",
            "title",
            "slug",
            "description",
            "subject",
            "subject_title",
            "level",
            "course_start_date",
            "tags",
            "updated_at",
        ]
        read_only_fields = ["id", "updated_at"]
