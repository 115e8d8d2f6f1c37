"""INSERTs on the path every comment takes, passing all their rows as one JSON parameter.

`QuerySet.bulk_create` compiles each value through the ORM and psycopg then quotes each one
in Python (for PostgreSQL's UNNEST, each column as an array): about a third of a comment's
CPU in the web process went there (bench/intake.py, issue 17). Here the statement is built
once per model, the rows are one `json.dumps`, and PostgreSQL spreads them into columns
itself (`jsonb_to_recordset`).

What it does not do, like bulk_create: call `save()` or send signals. Fields are limited to
the types listed in `_CONVERTERS`; a model with another kind of column fails at once, not
with wrong data. Other databases (SQLite, the embedded default) go through bulk_create.
"""

import datetime
import json
import warnings
from functools import cache

from django.conf import settings
from django.db import connections, models, router
from django.utils import timezone
from django.utils.functional import Promise


def _datetime(value):
    if value is None:
        return None
    if timezone.is_naive(value):  # as the ORM reads it (with its warning): in TIME_ZONE
        warnings.warn(f"naive datetime {value} stored in {settings.TIME_ZONE}", stacklevel=4)
        value = timezone.make_aware(value)
    return value.isoformat()


def _date(value):
    if isinstance(value, datetime.datetime):  # as DateField.to_python: its date where it is
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return None if value is None else value.isoformat()


def _as_is(value):
    return value


# By Field.get_internal_type(): how a model's value becomes JSON that PostgreSQL reads back
# into the column's type unchanged (text as text, an aware datetime with its offset, JSON as
# JSON).
_CONVERTERS = {
    "BooleanField": _as_is,
    "CharField": _as_is,
    "TextField": _as_is,
    "IntegerField": _as_is,
    "BigIntegerField": _as_is,
    "PositiveIntegerField": _as_is,
    "PositiveSmallIntegerField": _as_is,
    "SmallIntegerField": _as_is,
    "JSONField": _as_is,
    "DateTimeField": _datetime,
    "DateField": _date,
}


def _json_default(value):
    if isinstance(value, Promise):  # a lazy translation
        return str(value)
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    raise TypeError(f"not storable as JSON: {type(value).__name__}")


@cache
def _statement(model, alias: str):
    """The INSERT for `model`'s concrete fields except its automatic primary key, and how
    each field's value is converted."""
    connection = connections[alias]
    quote = connection.ops.quote_name
    if not isinstance(model._meta.pk, models.AutoField):  # its Big and Small kin included
        raise TypeError(f"{model.__name__}: only a key from a sequence is supported here")
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    converters = []
    for field in fields:
        target = field.target_field if field.is_relation else field
        kind = target.get_internal_type()
        if kind in ("AutoField", "BigAutoField", "SmallAutoField"):
            kind = "IntegerField"
        if kind not in _CONVERTERS or (
            field.get_internal_type() == "JSONField" and field.encoder is not None
        ):
            raise TypeError(f"{model.__name__}.{field.name}: {kind} is not supported here")
        if field.has_db_default():
            raise TypeError(f"{model.__name__}.{field.name}: a db_default is not supported here")
        converters.append(_CONVERTERS[kind])
    columns = ", ".join(quote(field.column) for field in fields)
    # The column definition takes the type without its length: the model has validated it.
    definitions = ", ".join(
        f"{quote(field.column)} {field.db_type(connection).split('(')[0]}" for field in fields
    )
    # Names from the model's meta, quoted; the rows go as a parameter. Inserted in the order
    # given, so the keys the sequence hands out rise in that order: sorted, they pair with the
    # rows whatever order RETURNING lists them in (SQL promises none).
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({columns}) "  # noqa: S608
        f"SELECT {columns} FROM ROWS FROM (jsonb_to_recordset(%s::jsonb) AS ({definitions})) "
        f"WITH ORDINALITY AS rows({columns}, consult_row_number) ORDER BY consult_row_number "
        f"RETURNING {quote(model._meta.pk.column)}"
    )
    return sql, fields, converters


def rows_insert(model, objs: list) -> list:
    """Store new, unsaved `objs` of `model` in one INSERT and give them their primary keys,
    in the caller's transaction. Returns `objs`."""
    if not objs:
        return objs
    for obj in objs:
        if obj.pk is not None:
            raise ValueError(f"{obj!r} has a primary key already: rows_insert stores new rows")
        # As save() and bulk_create do: a related object saved since it was assigned gives
        # its key now, and an unsaved one is refused instead of stored as NULL.
        obj._prepare_related_fields_for_save(operation_name="rows_insert")
    alias = router.db_for_write(model)
    if connections[alias].vendor != "postgresql":
        model._default_manager.bulk_create(objs)
        return objs
    _sql, fields, _converters = _statement(model, alias)
    keys = _insert(model, alias, [[field.pre_save(obj, True) for field in fields] for obj in objs])
    pk = model._meta.pk.attname
    for obj, key in zip(objs, keys, strict=True):
        setattr(obj, pk, key)
        obj._state.adding = False
        obj._state.db = alias
    return objs


def values_insert(model, rows: list[dict]) -> list:
    """Store new rows of `model` given as {attname: value} (`department_id`, not `department`)
    in one INSERT, in the caller's transaction; returns their primary keys in order.

    For rows that nobody needs as model instances (a comment's routes and notifications): no
    instance is built. A field left out takes its default, as the model would give it; an
    `auto_now` or `auto_now_add` field is always now, given or not, as `save()` makes it; a
    name that is not a column is refused.
    """
    if not rows:
        return []
    alias = router.db_for_write(model)
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    names = {field.attname for field in fields}
    for row in rows:
        if unknown := row.keys() - names:
            raise TypeError(f"{model.__name__} has no column {', '.join(sorted(unknown))}")
    if connections[alias].vendor != "postgresql":
        objs = model._default_manager.bulk_create([model(**row) for row in rows])
        return [obj.pk for obj in objs]
    now = timezone.now()
    _sql, fields, _converters = _statement(model, alias)
    stamped = {
        field.attname
        for field in fields
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
    }
    missing = object()
    values = []
    for row in rows:
        line = []
        for field in fields:
            value = now if field.attname in stamped else row.get(field.attname, missing)
            line.append(field.get_default() if value is missing else value)
        values.append(line)
    return _insert(model, alias, values)


def _insert(model, alias: str, values: list[list]) -> list:
    """INSERT rows of values in the order of the statement's fields; their primary keys."""
    sql, fields, converters = _statement(model, alias)
    names = [field.column for field in fields]
    rows = [
        {name: convert(value) for name, convert, value in zip(names, converters, line, strict=True)}
        for line in values
    ]
    document = json.dumps(rows, ensure_ascii=False, default=_json_default)
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, [document])
        return sorted(row[0] for row in cursor.fetchall())
