"""Model signals -> purge tags. Every purge includes course_list (list pages embed courses)."""
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.dispatch import receiver

from .models import Course, Subject, Topic
from .purge import COURSE_LIST_TAG, course_tag, schedule_purge


def purge_courses(pks, using):
    schedule_purge([COURSE_LIST_TAG, *(course_tag(pk) for pk in sorted(pks))], using=using)


@receiver(post_save, sender=Course)
@receiver(post_delete, sender=Course)
def course_changed(sender, instance, using, **kwargs):
    if kwargs.get("raw"):  # loaddata
        return
    purge_courses([instance.pk], using)


@receiver(pre_delete, sender=Subject)
@receiver(pre_delete, sender=Topic)
def remember_courses(sender, instance, **kwargs):
    # After the delete the relation is gone, so note which courses showed this row.
    instance._edgecache_course_pks = list(instance.courses.values_list("pk", flat=True))


@receiver(post_save, sender=Subject)
@receiver(post_save, sender=Topic)
def related_saved(sender, instance, using, created, **kwargs):
    if kwargs.get("raw"):  # loaddata
        return
    pks = [] if created else list(instance.courses.values_list("pk", flat=True))
    purge_courses(pks, using)


@receiver(post_delete, sender=Subject)
@receiver(post_delete, sender=Topic)
def related_deleted(sender, instance, using, **kwargs):
    purge_courses(getattr(instance, "_edgecache_course_pks", []), using)


@receiver(m2m_changed, sender=Course.tags.through)
def course_tags_changed(sender, instance, action, reverse, pk_set, using, **kwargs):
    if reverse:  # topic.courses.add(...) etc.: instance is a Topic, pk_set holds course pks
        if action == "pre_clear":
            instance._edgecache_cleared = list(instance.courses.values_list("pk", flat=True))
            return
        if action == "post_clear":
            pks = getattr(instance, "_edgecache_cleared", [])
        elif action in ("post_add", "post_remove"):
            pks = pk_set or []
        else:
            return
        if not pks:
            return
    else:
        if action not in ("post_add", "post_remove", "post_clear"):
            return
        if action != "post_clear" and not pk_set:
            return  # add()/remove() of nothing new: nothing changed
        pks = [instance.pk]
    purge_courses(pks, using)
