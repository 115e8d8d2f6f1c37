"""Reminder moments of the draft a consultation now consults on."""

from consult.comments.reminders import period_moments


def consultation_moments(consultation, now):
    """`period_moments` of the consultation's own period and answer deadline: what
    `reminders_send` plans for the draft consulted on, from `now - LOOKBACK` up to `now`."""
    return period_moments(
        consultation.opens_at, consultation.closes_at, consultation.answer_deadline, now
    )
