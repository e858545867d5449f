"""The outbox table (`EDGECACHE["OUTBOX"] = True`): one row per `purge()` call, written
in the transaction of the change it announces, so it commits or rolls back with it.

Rows of one transaction share `batch`; the sender turns a batch into the same
webhook messages (same ids) whoever sends it (outbox.py). A row is deleted once the
worker acknowledged every message of its batch."""
from django.db import models


class PendingPurge(models.Model):
    id = models.BigAutoField(primary_key=True)
    batch = models.CharField(max_length=32, db_index=True)  # uuid4 hex, one per transaction
    items = models.TextField()  # Purge.to_json(), as JSON
    created = models.DateTimeField()
    due = models.DateTimeField(db_index=True)  # next attempt
    attempts = models.PositiveIntegerField(default=0)
    lease_until = models.DateTimeField(null=True, blank=True)  # a sender is delivering it until then
    last_error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["id"]
        verbose_name = "pending purge"

    def __str__(self) -> str:
        return f"purge batch {self.batch} row {self.id} ({self.attempts} attempts)"
