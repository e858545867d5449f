"""Which tags a model's rows carry, and the signals that purge them.

    register(Course, tags=["course:{pk}"], list_tags=["course_list"], related=["subject", "tags"])

- `tags`: per row; templates (`"course:{pk}"`, any attribute: `"course:{slug}"`) or
  callables `obj -> iterable of tags`. Substituted values are escaped as the worker
  escapes path params, so `course:{pk}` here is the tag the route template
  `course:{pk}` gives.
- `list_tags`: the pages that list rows of the model (every page and filter of a list
  route carries one tag); the same forms.
- `related`: names of foreign keys and many-to-many fields of the model. A change to
  a related row (a `Subject` renamed) purges the rows that point at it (its courses),
  a many-to-many change (`course.tags.add(...)`, either side) purges the rows whose
  set changed, and a delete purges what the row was linked to before it went.

Signals cover `save()`, `delete()` and many-to-many managers. `QuerySet.update()`,
`bulk_create`/`bulk_update` and raw SQL send none: wrap them in `changing()` or call
`purge_objects()` (here) / `purge()` (batch.py).
"""
from __future__ import annotations

import string
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import connections, models
from django.db.models import QuerySet
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete

from .batch import purge
from .payload import check_tag, escape_tag_value

TagSpec = str | Callable[[Any], Iterable[str]]


@dataclass(frozen=True)
class Registration:
    model: type[models.Model]
    tags: tuple[TagSpec, ...]
    list_tags: tuple[TagSpec, ...]
    related: tuple[str, ...]


_registry: dict[type[models.Model], Registration] = {}
_problems: list[tuple[str, str]] = []


class _Attrs(dict[str, str]):
    def __init__(self, obj: Any) -> None:
        super().__init__()
        self.obj = obj

    def __missing__(self, name: str) -> str:
        return escape_tag_value(getattr(self.obj, name))


def render(spec: TagSpec, obj: Any) -> list[str]:
    if callable(spec):
        return [check_tag(t) for t in spec(obj)]
    return [check_tag(spec.format_map(_Attrs(obj)) if "{" in spec else spec)]


def _placeholders(template: str) -> list[str]:
    return [f for _, f, _, _ in string.Formatter().parse(template) if f]


def register(model: type[models.Model], *, tags: Iterable[TagSpec] = (), list_tags: Iterable[TagSpec] = (),
             related: Iterable[str] = ()) -> Registration:
    """Purge these tags when rows of `model` (or the rows named in `related`) change."""
    reg = Registration(model, tuple(tags), tuple(list_tags), tuple(related))
    if not reg.tags and not reg.list_tags:
        raise ValueError(f"register({model.__name__}): give tags and/or list_tags")
    field_names = {f.attname for f in model._meta.concrete_fields} | {f.name for f in model._meta.get_fields()} | {"pk"}
    for spec in (*reg.tags, *reg.list_tags):
        if isinstance(spec, str):
            check_tag(spec.replace("{", "").replace("}", "") or "x")
            for name in _placeholders(spec):
                if name not in field_names and not hasattr(model, name):
                    _problems.append((f"register({model.__name__}): tag template {spec!r} names {{{name}}}, "
                                      f"which {model.__name__} does not have.",
                                      "Use a field or attribute of the model, or a callable."))
    _registry[model] = reg
    uid = f"edgecache:{model._meta.label}"
    post_save.connect(_saved, sender=model, weak=False, dispatch_uid=uid)
    post_delete.connect(_deleted, sender=model, weak=False, dispatch_uid=uid)
    for name in reg.related:
        field = model._meta.get_field(name)
        if not (field.many_to_one or field.one_to_one or field.many_to_many) or field.auto_created:
            raise ValueError(f"register({model.__name__}): related={name!r} is not a foreign key or many-to-many field")
        other = field.related_model
        ruid = f"{uid}:{name}"
        post_save.connect(_related_saved(model, name), sender=other, weak=False, dispatch_uid=ruid)
        pre_delete.connect(_related_deleting(model, name), sender=other, weak=False, dispatch_uid=ruid)
        post_delete.connect(_related_deleted(model, name), sender=other, weak=False, dispatch_uid=ruid)
        if field.many_to_many:
            m2m_changed.connect(_m2m_changed(model), sender=field.remote_field.through, weak=False, dispatch_uid=ruid)
    return reg


def registered(model: type[models.Model]) -> Registration | None:
    return next((_registry[m] for m in model._meta.get_parent_list()[::-1] + [model] if m in _registry), None) \
        if model not in _registry else _registry[model]


def registry_problems() -> list[tuple[str, str]]:
    return list(_problems)


def tags_for_objects(objects: Iterable[models.Model]) -> list[str]:
    """List tags first (once per model), then each object's tags; de-duplicated, in order."""
    lists: dict[str, None] = {}
    rows: dict[str, None] = {}
    for obj in objects:
        reg = registered(type(obj))
        if reg is None:
            raise ValueError(f"{type(obj).__name__} is not registered with edgecache_django.register")
        for spec in reg.list_tags:
            lists.update(dict.fromkeys(render(spec, obj)))
        for spec in reg.tags:
            rows.update(dict.fromkeys(render(spec, obj)))
    return [*lists, *rows]


def purge_objects(objects: Iterable[models.Model], using: str | None = None, soft: bool | None = None) -> None:
    """Purge the registered tags of these objects (see `register`); `soft` as in `purge`."""
    tags = tags_for_objects(objects)
    if tags:
        purge(tags=tags, using=using, soft=soft)


@contextmanager
def changing(queryset: QuerySet[Any], using: str | None = None) -> Iterator[None]:
    """For writes that send no signals (`QuerySet.update`, `bulk_update`, raw SQL):

        with transaction.atomic(), edgecache_django.changing(Course.objects.filter(level="beginner")):
            Course.objects.filter(level="beginner").update(level="intermediate")

    The rows the queryset selects before the block (and the same rows, re-read after
    it, for tags built from fields the block changed) are purged at commit, also when
    an exception leaves the block: code outside it may catch the exception and commit
    what the block wrote. A transaction that is already doomed (a database error in
    it) is not queried again; it rolls back, and the purge with it."""
    before = list(queryset)
    alias = using or queryset.db
    try:
        yield
    finally:
        after: list[Any] = []
        if not connections[alias].needs_rollback:
            after = list(queryset.model._default_manager.using(alias).filter(pk__in=[o.pk for o in before]))
        purge_objects([*before, *after], using=alias)


def _purge(objects: Iterable[models.Model], using: str | None) -> None:
    purge_objects(objects, using)


def _saved(sender: Any, instance: models.Model, using: str, raw: bool = False, **kwargs: Any) -> None:
    if not raw:  # loaddata: fixtures are not changes to announce
        _purge([instance], using)


def _deleted(sender: Any, instance: models.Model, using: str, **kwargs: Any) -> None:
    _purge([instance], using)


def _linked(model: type[models.Model], name: str, instance: models.Model) -> list[models.Model]:
    return list(model._default_manager.filter(**{name: instance}).distinct())


def _related_saved(model: type[models.Model], name: str) -> Callable[..., None]:
    def handler(sender: Any, instance: models.Model, using: str, created: bool = False, raw: bool = False,
                **kwargs: Any) -> None:
        if not raw and not created:  # a new row is shown by nothing yet
            _purge(_linked(model, name, instance), using)
    return handler


def _related_deleting(model: type[models.Model], name: str) -> Callable[..., None]:
    def handler(sender: Any, instance: models.Model, **kwargs: Any) -> None:
        # After the delete the relation is gone: note now which rows showed this one.
        instance.__dict__.setdefault("_edgecache_linked", {})[(model, name)] = _linked(model, name, instance)
    return handler


def _related_deleted(model: type[models.Model], name: str) -> Callable[..., None]:
    def handler(sender: Any, instance: models.Model, using: str, **kwargs: Any) -> None:
        _purge(instance.__dict__.get("_edgecache_linked", {}).pop((model, name), []), using)
    return handler


def _m2m_changed(model: type[models.Model]) -> Callable[..., None]:
    def handler(sender: Any, instance: models.Model, action: str, reverse: bool, pk_set: set[Any] | None,
                using: str, **kwargs: Any) -> None:
        if isinstance(instance, model) and not reverse:
            if action == "post_clear" or (action in ("post_add", "post_remove") and pk_set):
                _purge([instance], using)
            return
        # Reverse side (topic.courses.add(...)): pk_set holds rows of `model`.
        if action == "pre_clear":
            instance.__dict__["_edgecache_cleared"] = [
                o for o in model._default_manager.filter(pk__in=_reverse_pks(sender, model, instance))]
            return
        if action == "post_clear":
            objs = instance.__dict__.pop("_edgecache_cleared", [])
        elif action in ("post_add", "post_remove") and pk_set:
            objs = list(model._default_manager.filter(pk__in=pk_set))
        else:
            return
        _purge(objs, using)
    return handler


def _reverse_pks(through: type[models.Model], model: type[models.Model], instance: models.Model) -> list[Any]:
    """Pks of `model` rows linked to `instance` through the m2m table `through`."""
    src = next(f for f in through._meta.concrete_fields if f.is_relation and f.related_model is model)
    dst = next(f for f in through._meta.concrete_fields
               if f.is_relation and f.related_model is type(instance) and f is not src)
    return list(through._default_manager.filter(**{dst.attname: instance.pk}).values_list(src.attname, flat=True))
