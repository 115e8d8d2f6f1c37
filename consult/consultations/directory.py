"""Keeping `Consultation.directory_version` true: raised, in the changing transaction, by every
change to what routing a comment reads — a consultation's clauses and who is responsible for
them, and the departments and their mailboxes.

A process may then keep that directory in memory keyed by (consultation, version) and never
ask the database for it again until the version moves (comments.directory).
"""

import contextlib
import contextvars

from django.db import transaction
from django.db.models import F
from django.db.models.signals import post_delete, post_save

from .models import Clause, ClauseResponsibility, Consultation, Department, Mailbox

# The consultations whose version a batch will raise at its end (EVERY_CONSULTATION for all),
# or None outside a batch.
_batched: contextvars.ContextVar[set | None] = contextvars.ContextVar("batch", default=None)
EVERY_CONSULTATION = object()


@contextlib.contextmanager
def directory_changes_batched():
    """One transaction in which the versions are raised once, at its end, for everything
    changed in it: an import of 26 clauses and 22 departments raised them 92 times, each an
    UPDATE of every consultation for a department. Nothing inside it may route a comment by
    the directory it is changing (a process could keep the old one under the old version)."""
    if _batched.get() is not None:
        with transaction.atomic():  # all or nothing on its own, as without the outer batch
            yield
        return
    pending = set()
    token = _batched.set(pending)
    try:
        with transaction.atomic():
            yield
            _batched.reset(token)
            token = None
            if pending:
                every = EVERY_CONSULTATION in pending
                directory_changed(None if every else pending)
    finally:
        if token is not None:
            _batched.reset(token)


def directory_changed(consultation_ids=None) -> None:
    """Raise the version of these consultations (of all, when None); at the end of the batch
    when inside one."""
    pending = _batched.get()
    if pending is not None:
        pending.update([EVERY_CONSULTATION] if consultation_ids is None else consultation_ids)
        return
    consultations = Consultation.objects.all()
    if consultation_ids is not None:
        consultations = consultations.filter(pk__in=consultation_ids)
    consultations.update(directory_version=F("directory_version") + 1)


def _clause_changed(sender, instance, **kwargs):
    directory_changed([instance.consultation_id])


def _responsibility_changed(sender, instance, **kwargs):
    consultation_id = (
        Clause.objects.filter(pk=instance.clause_id).values_list("consultation_id", flat=True)
    ).first()
    if consultation_id is not None:
        directory_changed([consultation_id])


def _everyone_changed(sender, instance, **kwargs):
    directory_changed()


def directory_signals_connect() -> None:
    for signal in (post_save, post_delete):
        signal.connect(_clause_changed, sender=Clause, dispatch_uid=f"directory-clause-{signal}")
        signal.connect(
            _responsibility_changed,
            sender=ClauseResponsibility,
            dispatch_uid=f"directory-responsibility-{signal}",
        )
        for model in (Department, Mailbox):
            signal.connect(
                _everyone_changed, sender=model, dispatch_uid=f"directory-{model.__name__}-{signal}"
            )
