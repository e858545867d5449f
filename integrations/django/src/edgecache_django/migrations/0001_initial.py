from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies: list[tuple[str, str]] = []

    operations = [
        migrations.CreateModel(
            name="PendingPurge",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("batch", models.CharField(db_index=True, max_length=32)),
                ("items", models.TextField()),
                ("created", models.DateTimeField()),
                ("due", models.DateTimeField(db_index=True)),
                ("attempts", models.PositiveIntegerField(default=0)),
                ("lease_until", models.DateTimeField(blank=True, null=True)),
                ("last_error", models.TextField(blank=True, default="")),
            ],
            options={"ordering": ["id"], "verbose_name": "pending purge"},
        ),
    ]
