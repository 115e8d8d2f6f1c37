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
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.db import connections, models, router, transaction
from django.utils import timezone
from django.utils.functional import Promise

from consult.prepared import prepared_cursor


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
def _shape(model, alias: str):
    """`model`'s concrete fields except its automatic primary key, how each field's value is
    converted, and their columns as a record definition for jsonb_to_recordset."""
    connection = connections[alias]
    quote = connection.ops.quote_name
    if not isinstance(model._meta.pk, models.AutoField):  # its Big and Small kin included
        raise TypeError(f"{model.__name__}: only a key from a sequence is supported here")
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    if any(field.column == "ordinality" for field in fields):  # WITH ORDINALITY's own column
        raise TypeError(f"{model.__name__}: a column named ordinality is not supported here")
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
    # The column definition takes the type without its length: the model has validated it.
    definitions = {
        field.attname: f"{quote(field.column)} {field.db_type(connection).split('(')[0]}"
        for field in fields
    }
    return fields, converters, definitions


@cache
def _statement(model, alias: str) -> str:
    """The INSERT for `model`'s rows (see `_shape`)."""
    return _insert_sql(model, alias)


def _insert_sql(model, alias: str, values: str = "", joined: str = "") -> str:
    """INSERT `model`'s rows, given as a JSON parameter, RETURNING their keys; `values`
    (default: each column's own) may use `rows.<column>` and what `joined` adds to FROM.

    Names come from the model's meta, quoted; the rows go as a parameter. Inserted in the order
    given, so the keys the sequence hands out rise in that order: sorted, they pair with the rows
    whatever order RETURNING lists them in (SQL promises none).
    """
    quote = connections[alias].ops.quote_name
    fields, _converters, definitions = _shape(model, alias)
    columns = ", ".join(quote(field.column) for field in fields)
    return (
        f"INSERT INTO {quote(model._meta.db_table)} ({columns}) "  # noqa: S608
        f"SELECT {values or columns} FROM {joined}ROWS FROM (jsonb_to_recordset(%s::jsonb) AS "
        f"({', '.join(definitions.values())})) WITH ORDINALITY AS rows "
        f"ORDER BY rows.ordinality RETURNING {quote(model._meta.pk.column)}"
    )


def rows_insert(model, objs: list) -> list:
    """Store new, unsaved `objs` of `model` in one INSERT and give them their primary keys,
    in the caller's transaction. Returns `objs`."""
    if not objs:
        return objs
    for obj in objs:
        _ready_to_insert(obj, "rows_insert")
    alias = router.db_for_write(model)
    if connections[alias].vendor != "postgresql":
        model._default_manager.bulk_create(objs)
        return objs
    fields, _converters, _definitions = _shape(model, alias)
    values = [[field.pre_save(obj, True) for field in fields] for obj in objs]
    keys = _insert(model, alias, _document(model, alias, values))
    for obj, key in zip(objs, keys, strict=True):
        _inserted(obj, key, alias)
    return objs


def _ready_to_insert(obj, operation: str) -> None:
    if obj.pk is not None:
        raise ValueError(f"{obj!r} has a primary key already: {operation} stores new rows")
    # As save() and bulk_create do: a related object saved since it was assigned gives its
    # key now, and an unsaved one is refused instead of stored as NULL.
    obj._prepare_related_fields_for_save(operation_name=operation)


def _inserted(obj, key, alias: str) -> None:
    """`obj` as the ORM leaves a row it has just saved."""
    setattr(obj, type(obj)._meta.pk.attname, key)
    obj._state.adding = False
    obj._state.db = alias


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
    _unknown_refused(model, alias, rows)
    if connections[alias].vendor != "postgresql":
        objs = model._default_manager.bulk_create([model(**row) for row in rows])
        return [obj.pk for obj in objs]
    return _insert(model, alias, _rows_document(model, alias, rows))


def _rows_document(model, alias: str, rows: list[dict]) -> str:
    """Rows given as {attname: value} as the JSON parameter: a field left out takes its
    default, an `auto_now`/`auto_now_add` field is now (see `values_insert`)."""
    now = timezone.now()
    missing = object()
    plan = _row_plan(model, alias)
    values = []
    for row in rows:
        line = []
        for attname, _column, _convert, stamped, field in plan:
            value = now if stamped else row.get(attname, missing)
            line.append(field.get_default() if value is missing else value)
        values.append(line)
    return _document(model, alias, values)


@cache
def _row_plan(model, alias: str) -> tuple:
    """Per field of the statement: its attname, column, converter (None where the value goes
    as it is), whether it is stamped with now, and the field (for its default)."""
    fields, converters, _definitions = _shape(model, alias)
    return tuple(
        (
            field.attname,
            field.column,
            None if convert is _as_is else convert,
            getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False),
            field,
        )
        for field, convert in zip(fields, converters, strict=True)
    )


def _unknown_refused(model, alias: str, rows: list[dict]) -> None:
    names = _attnames(model, alias)
    for row in rows:
        if unknown := row.keys() - names:
            raise TypeError(f"{model.__name__} has no column {', '.join(sorted(unknown))}")


@cache
def _attnames(model, alias: str) -> frozenset:
    return frozenset(attname for attname, *_rest in _row_plan(model, alias))


def _insert(model, alias: str, document: str) -> list:
    """INSERT the rows of a JSON parameter (`_document`, `_rows_document`); their primary
    keys."""
    with connections[alias].cursor() as cursor:
        cursor.execute(_statement(model, alias), [document])
        return sorted(row[0] for row in cursor.fetchall())


def _document(model, alias: str, values: list[list]) -> str:
    """Rows of values (in the order of the statement's fields) as the JSON parameter."""
    plan = _row_plan(model, alias)
    rows = []
    for line in values:
        row = {}
        for (_attname, column, convert, _stamped, _field), value in zip(plan, line, strict=True):
            if convert is not None and value is not None:
                value = convert(value)
            if value is not None:  # a key left out is NULL to jsonb_to_recordset
                row[column] = value
        rows.append(row)
    return json.dumps(rows, ensure_ascii=False, default=_json_default)


# Stands for the key of the row stored first in `rows_insert_with`, inside its dependents' text.
PARENT_KEY = "{consult:parent-key}"


@dataclass(frozen=True)
class Dependents:
    """New rows of `model` ({attname: value}, as `values_insert` takes them) that belong to
    the row stored with them: its key goes into `parent_column`, and into the text of the
    columns named in `keyed` wherever it says PARENT_KEY (a notification's unique key)."""

    model: type
    rows: list[dict]
    parent_column: str
    keyed: tuple[str, ...] = ()


def rows_insert_with(obj, dependents: list[Dependents], statements=()) -> list[list]:
    """Store a new, unsaved `obj` (as `rows_insert` does), the rows that belong to it and
    further statements (`(sql, params)`, none of which reads what this writes): all or
    nothing, in the caller's transaction if there is one; returns each `Dependents`' keys, in
    the order of its rows.

    The whole write of a citizen's comment: on PostgreSQL it is one statement (data-modifying
    common table expressions), atomic by itself, one round trip to the database instead of
    one per table; elsewhere a statement per table in a transaction.
    """
    model = type(obj)
    _ready_to_insert(obj, "rows_insert_with")
    alias = router.db_for_write(model)
    for dependent in dependents:
        _unknown_refused(dependent.model, alias, dependent.rows)
    connection = connections[alias]
    if connection.vendor != "postgresql":
        with transaction.atomic(using=alias):
            return _rows_insert_with_one_by_one(obj, dependents, statements, connection)
    shape = tuple((d.model, d.parent_column, d.keyed) for d in dependents)
    sql = _statement_with(model, shape, tuple(sql for sql, _params in statements), alias)
    fields, _converters, _definitions = _shape(model, alias)
    params = [_document(model, alias, [[field.pre_save(obj, True) for field in fields]])]
    for dependent in dependents:
        params.append(_rows_document(dependent.model, alias, dependent.rows))
    for _sql, statement_params in statements:
        params.extend(statement_params)
    with prepared_cursor(connection) as cursor:
        cursor.execute(sql, params)
        parts = cursor.fetchall()
    keys = [[] for _ in dependents]
    for part, key in parts:
        if part < 0:
            _inserted(obj, key, alias)
        else:
            keys[part].append(key)
    return [sorted(part) for part in keys]


def _rows_insert_with_one_by_one(obj, dependents, statements, connection) -> list[list]:
    rows_insert(type(obj), [obj])
    keys = []
    for dependent in dependents:
        rows = []
        for row in dependent.rows:
            row = {**row, dependent.parent_column: obj.pk}
            for column in dependent.keyed:
                if isinstance(row.get(column), str):  # as PostgreSQL's replace() leaves NULL
                    row[column] = row[column].replace(PARENT_KEY, str(obj.pk))
            rows.append(row)
        keys.append(values_insert(dependent.model, rows))
    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)
    return keys


@cache  # one per shape of call: the callers' statements are constants, not per-row SQL
def _statement_with(model, shape, statements, alias):
    """The one statement of `rows_insert_with`: a common table expression per table, their
    keys in one list (-1 for the first row's, then each dependents' number)."""
    quote = connections[alias].ops.quote_name
    key = quote(model._meta.pk.column)
    fields, _converters, definitions = _shape(model, alias)
    columns = ", ".join(quote(field.column) for field in fields)
    # The one parent row needs no order, and its record definition is in column order: a
    # `SELECT *` keeps the statement short, which psycopg parses anew on every execution
    # beyond 4 KiB (tests/test_prepared.py).
    parts = [
        f"consult_parent AS (INSERT INTO {quote(model._meta.db_table)} ({columns}) "  # noqa: S608
        f"SELECT * FROM jsonb_to_recordset(%s::jsonb) AS rows("
        f"{', '.join(definitions.values())}) RETURNING {key})"
    ]
    keys = [f"SELECT -1, {key} FROM consult_parent"]  # noqa: S608 - names from the meta
    for number, (dependent, parent_column, keyed) in enumerate(shape):
        fields, _converters, _definitions = _shape(dependent, alias)
        values = []
        for field in fields:
            if field.attname == parent_column:
                values.append(f"consult_parent.{key}")
            elif field.attname in keyed:
                # The marker is a constant without quotes: safe inside the literal.
                values.append(
                    f"replace(rows.{quote(field.column)}, '{PARENT_KEY}', "
                    f"consult_parent.{key}::text)"
                )
            else:
                values.append(f"rows.{quote(field.column)}")
        insert = _insert_sql(dependent, alias, ", ".join(values), "consult_parent, ")
        parts.append(f"consult_rows_{number} AS ({insert})")
        dependent_key = quote(dependent._meta.pk.column)
        keys.append(f"SELECT {number}, {dependent_key} FROM consult_rows_{number}")  # noqa: S608
    for number, sql in enumerate(statements):
        parts.append(f"consult_statement_{number} AS ({sql})")
    return f"WITH {', '.join(parts)} {' UNION ALL '.join(keys)}"
