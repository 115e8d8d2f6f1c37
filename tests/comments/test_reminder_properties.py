"""Properties of the deadline reminders, over any period, configuration and clock.

`period_moments` (through `consultation_moments`) is checked against its contract written out
independently here, on consultations built in memory (cheap, thousands of examples).
`reminders_send` runs against the database: one consultation with comments routed to three
departments is built once per test, and each example changes its period, the comments'
statuses and the settings, calls `reminders_send` at a sequence of increasing instants, and
undoes its writes (a savepoint).

No example reads the real clock: every instant is generated and passed as `now`.
"""

import contextlib
import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.test import override_settings
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from consult.comments.models import Comment, CommentRouting
from consult.comments.reminders import LOOKBACK, reminders_send
from consult.consultations.models import Consultation, Mailbox
from consult.notifications.models import Notification, Reminder
from tests.factories import CommentFactory, ConsultationFactory, DepartmentFactory
from tests.support.reminders import consultation_moments

# Every instant is generated and passed in: a run at another clock checks nothing more.
pytestmark = pytest.mark.clock_free

BEIJING = ZoneInfo("Asia/Shanghai")
# The same instant may come written in any zone; Beijing's local day is what counts.
ZONES = st.sampled_from(
    [
        BEIJING,
        datetime.UTC,
        ZoneInfo("America/New_York"),
        ZoneInfo("Pacific/Kiritimati"),
        datetime.timezone(datetime.timedelta(hours=8)),
    ]
)
BEFORE_KINDS = {Reminder.Kind.CLOSING, Reminder.Kind.ANSWER_DUE}
# Leads beyond this cannot reach back into a period of a year (plus 60 answer days), and
# are left out of the reference below, where they would run off the calendar.
LONGEST_MEANINGFUL_LEAD = 2000


# --- generated configurations and periods ------------------------------------------------------


LEADS = st.lists(
    st.one_of(
        st.integers(1, 7),  # the usual leads, so that reminders are often due
        st.integers(-3, 40),
        st.sampled_from([0, 1, 3, 400, 10**6, 999_999_999, 10**12]),
    ),
    max_size=6,
)
REMINDER_SETTINGS = st.fixed_dictionaries(
    {
        "REMIND_DAYS_BEFORE_CLOSE": LEADS,
        "REMIND_DAYS_BEFORE_ANSWER_DEADLINE": LEADS,
        "REMIND_OVERDUE_EVERY_DAYS": st.one_of(
            st.integers(-3, 30), st.sampled_from([7, 10**6, 999_999_999, 10**12])
        ),
        "REMIND_AT_HOUR": st.integers(0, 23),
    }
)


def leap_day(year: int) -> datetime.date:
    return datetime.date(year - year % 4, 2, 29)


YEARS = st.integers(2001, 2097)
EDGE_DAYS = st.one_of(
    YEARS.map(leap_day),
    st.builds(datetime.date, YEARS, st.just(12), st.just(31)),
    st.builds(datetime.date, YEARS, st.just(1), st.just(1)),
    st.builds(datetime.date, YEARS, st.just(3), st.just(1)),
)
DAYS = st.one_of(st.dates(datetime.date(2001, 1, 1), datetime.date(2097, 12, 31)), EDGE_DAYS)
LATE_EVENING_OR_EARLY_MORNING = st.one_of(
    st.times(datetime.time(23, 0)), st.times(max_value=datetime.time(8, 0))
)


@st.composite
def instants_near(draw, opens_at, closes_at, answer_days, config):
    """An instant on a reminder's day, or some days around the opening, the close or the
    answer deadline; often at a boundary: the reminder hour exactly, a second before it, or
    late evening / early morning (another date in UTC)."""
    hour = config["REMIND_AT_HOUR"]
    closes_day = local(closes_at).date()
    answer_day = closes_day + datetime.timedelta(days=answer_days)
    reminder_days = [
        deadline_day - datetime.timedelta(days=lead)
        for deadline_day, leads in [
            (closes_day, config["REMIND_DAYS_BEFORE_CLOSE"]),
            (answer_day, config["REMIND_DAYS_BEFORE_ANSWER_DEADLINE"]),
        ]
        for lead in leads
        if 0 < lead < 100
    ]
    around = st.sampled_from([local(opens_at).date(), closes_day, answer_day])
    days_around = st.tuples(around, st.integers(-12, 75)).map(
        lambda pair: pair[0] + datetime.timedelta(days=pair[1])
    )
    day = draw(
        st.one_of(st.sampled_from(reminder_days), days_around) if reminder_days else days_around
    )
    reminder_hour = datetime.datetime.combine(day, datetime.time(hour), tzinfo=BEIJING)
    instant = draw(
        st.one_of(
            st.times().map(lambda at: datetime.datetime.combine(day, at, tzinfo=BEIJING)),
            LATE_EVENING_OR_EARLY_MORNING.map(
                lambda at: datetime.datetime.combine(day, at, tzinfo=BEIJING)
            ),
            st.just(reminder_hour),
            st.just(reminder_hour - datetime.timedelta(seconds=1)),
        )
    )
    return instant.astimezone(draw(ZONES))


@st.composite
def periods(draw):
    """(opens_at, closes_at, answer_days): from a minute to a year, sometimes closing at a
    day's 23:59:59 as notices do, sometimes at any second."""
    opens_day = draw(DAYS)
    opens_at = datetime.datetime.combine(
        opens_day, draw(st.one_of(st.just(datetime.time(0)), st.times())), tzinfo=BEIJING
    ).replace(microsecond=0)
    if draw(st.booleans()):
        length = draw(
            st.one_of(
                st.timedeltas(datetime.timedelta(minutes=1), datetime.timedelta(days=2)),
                st.timedeltas(datetime.timedelta(minutes=1), datetime.timedelta(days=366)),
            )
        )
        closes_at = (opens_at + length).replace(microsecond=0)
    else:
        closes_day = opens_day + datetime.timedelta(days=draw(st.integers(0, 365)))
        closes_at = datetime.datetime.combine(closes_day, datetime.time(23, 59, 59), BEIJING)
    closes_at = max(closes_at, opens_at + datetime.timedelta(minutes=1))
    zone = draw(ZONES)
    return opens_at.astimezone(zone), closes_at.astimezone(zone), draw(st.integers(0, 60))


def local(moment: datetime.datetime) -> datetime.datetime:
    return moment.astimezone(BEIJING)


# --- period_moments against its contract ----------------------------------------------------


def at_hour(day: datetime.date, hour: int) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=BEIJING)


def reference_before(kind, deadline, leads, not_before, hour):
    """Every reminder of a before-deadline series: (kind, due_at, until, days_left)."""
    deadline_day = local(deadline).date()
    dues = sorted(
        (at_hour(deadline_day - datetime.timedelta(days=days), hour), days)
        for days in set(leads)
        if 0 < days <= LONGEST_MEANINGFUL_LEAD
    )
    dues = [(due_at, days) for due_at, days in dues if not_before <= due_at < deadline]
    untils = [due_at for due_at, _days in dues[1:]] + [deadline] if dues else []
    return [(kind, due_at, until, days) for (due_at, days), until in zip(dues, untils, strict=True)]


def reference_overdue(answer_deadline, every_days, hour, now):
    every = max(1, every_days)
    first = at_hour(local(answer_deadline).date() + datetime.timedelta(days=1), hour)
    series = []
    number = 0
    while number * every <= LONGEST_MEANINGFUL_LEAD:
        due_at = first + datetime.timedelta(days=number * every)
        if due_at > now:
            break
        try:
            until = first + datetime.timedelta(days=(number + 1) * every)
        except OverflowError:
            until = None  # never: no next reminder on the calendar
        series.append((Reminder.Kind.OVERDUE, due_at, until, 0))
        number += 1
    return series


def reference_moments(consultation, config, now):
    """The contract: every moment of the three series from `now - LOOKBACK` up to `now`."""
    hour = config["REMIND_AT_HOUR"]
    answer_deadline = consultation.closes_at + datetime.timedelta(days=consultation.answer_days)
    series = [
        *reference_before(
            Reminder.Kind.CLOSING,
            consultation.closes_at,
            config["REMIND_DAYS_BEFORE_CLOSE"],
            consultation.opens_at,
            hour,
        ),
        *reference_before(
            Reminder.Kind.ANSWER_DUE,
            answer_deadline,
            config["REMIND_DAYS_BEFORE_ANSWER_DEADLINE"],
            consultation.closes_at,
            hour,
        ),
        *reference_overdue(answer_deadline, config["REMIND_OVERDUE_EVERY_DAYS"], hour, now),
    ]
    return [m for m in series if now - LOOKBACK <= m[1] <= now]


def as_tuple(moment):
    until = None if moment.until.year == datetime.MAXYEAR else moment.until
    return moment.kind, moment.due_at, until, moment.days_left


@st.composite
def moment_cases(draw):
    opens_at, closes_at, answer_days = draw(periods())
    config = draw(REMINDER_SETTINGS)
    now = draw(instants_near(opens_at, closes_at, answer_days, config))
    later = now + draw(st.timedeltas(datetime.timedelta(0), LOOKBACK))
    return opens_at, closes_at, answer_days, config, now, later


@settings(max_examples=1000, deadline=None)
@given(moment_cases())
# Task 1's crash: no reminder day inside the period (open a day, answers due at the close).
@example(
    (
        datetime.datetime(2024, 11, 10, 0, 0, tzinfo=BEIJING),
        datetime.datetime(2024, 11, 10, 18, 0, tzinfo=BEIJING),
        0,
        {
            "REMIND_DAYS_BEFORE_CLOSE": [3, 1],
            "REMIND_DAYS_BEFORE_ANSWER_DEADLINE": [5, 1],
            "REMIND_OVERDUE_EVERY_DAYS": 7,
            "REMIND_AT_HOUR": 9,
        },
        datetime.datetime(2024, 11, 10, 9, 0, tzinfo=BEIJING),
        datetime.datetime(2024, 11, 11, 9, 0, tzinfo=BEIJING),
    )
)
# Found by this property: a lead of more days than the calendar holds (OverflowError).
@example(
    (
        datetime.datetime(2024, 11, 1, tzinfo=BEIJING),
        datetime.datetime(2024, 11, 10, 23, 59, 59, tzinfo=BEIJING),
        15,
        {
            "REMIND_DAYS_BEFORE_CLOSE": [10**6],
            "REMIND_DAYS_BEFORE_ANSWER_DEADLINE": [],
            "REMIND_OVERDUE_EVERY_DAYS": 7,
            "REMIND_AT_HOUR": 9,
        },
        datetime.datetime(2024, 11, 9, 9, 0, tzinfo=BEIJING),
        datetime.datetime(2024, 11, 9, 9, 0, tzinfo=BEIJING),
    )
)
# Found by this property: an overdue interval beyond the calendar (OverflowError).
@example(
    (
        datetime.datetime(2024, 11, 1, tzinfo=BEIJING),
        datetime.datetime(2024, 11, 10, 23, 59, 59, tzinfo=BEIJING),
        0,
        {
            "REMIND_DAYS_BEFORE_CLOSE": [],
            "REMIND_DAYS_BEFORE_ANSWER_DEADLINE": [],
            "REMIND_OVERDUE_EVERY_DAYS": 10**6,
            "REMIND_AT_HOUR": 9,
        },
        datetime.datetime(2024, 11, 11, 9, 0, tzinfo=BEIJING),
        datetime.datetime(2024, 11, 11, 9, 0, tzinfo=BEIJING),
    )
)
# Found by this property: with overdue reminders every day, beat down for three days, the
# moments between the latest two were neither sent nor recorded as missed.
@example(
    (
        datetime.datetime(2024, 11, 1, tzinfo=BEIJING),
        datetime.datetime(2024, 11, 10, 23, 59, 59, tzinfo=BEIJING),
        0,
        {
            "REMIND_DAYS_BEFORE_CLOSE": [],
            "REMIND_DAYS_BEFORE_ANSWER_DEADLINE": [],
            "REMIND_OVERDUE_EVERY_DAYS": 1,
            "REMIND_AT_HOUR": 9,
        },
        datetime.datetime(2024, 11, 14, 9, 0, tzinfo=BEIJING),
        datetime.datetime(2024, 11, 14, 9, 0, tzinfo=BEIJING),
    )
)
def test_moments_are_every_reminder_of_the_lookback_at_the_hour_before_their_deadline(case):
    opens_at, closes_at, answer_days, config, now, later = case
    consultation = Consultation(opens_at=opens_at, closes_at=closes_at, answer_days=answer_days)
    answer_deadline = consultation.answer_deadline

    with override_settings(**config):
        moments = consultation_moments(consultation, now)
        moments_later = consultation_moments(consultation, later)

    assert [as_tuple(m) for m in moments] == reference_moments(consultation, config, now)
    for kind in sorted({m.kind for m in moments}):
        event(f"has a {kind} moment")
    for moment in moments:
        assert now - LOOKBACK <= moment.due_at <= now
        assert moment.due_at < moment.until
        due_local = local(moment.due_at)
        assert due_local.time() == datetime.time(config["REMIND_AT_HOUR"])
        if moment.kind in BEFORE_KINDS:
            assert moment.due_at < moment.until <= moment.deadline
            assert moment.days_left > 0
            assert local(moment.deadline).date() - due_local.date() == datetime.timedelta(
                days=moment.days_left
            )
        else:
            assert moment.due_at > moment.deadline == answer_deadline
        if moment.kind == Reminder.Kind.CLOSING:
            assert opens_at <= moment.due_at and moment.deadline == closes_at
        if moment.kind == Reminder.Kind.ANSWER_DUE:
            assert closes_at <= moment.due_at and moment.deadline == answer_deadline
    for kind in Reminder.Kind:
        dues = [m.due_at for m in moments if m.kind == kind]
        assert dues == sorted(set(dues))
    # A later run sees the same moment the same way, so it is recorded under the same key.
    seen_later = {(m.kind, m.due_at): m for m in moments_later}
    for moment in moments:
        if (moment.kind, moment.due_at) in seen_later:
            assert seen_later[moment.kind, moment.due_at] == moment


# --- reminders_send against the database ------------------------------------------------------


@contextlib.contextmanager
def rolled_back():
    """One example's writes, undone after it (a savepoint inside the test's transaction)."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


OPEN = {Comment.Status.PENDING, Comment.Status.IN_PROGRESS}
STATUSES = st.sampled_from(list(Comment.Status))


class World:
    """One consultation; comments routed to an active department with a mailbox, an active
    one without, and an inactive one. Routes: (comment, department, is_owner)."""

    def __init__(self):
        self.issuer = DepartmentFactory(name="市海渔局")
        self.with_mailbox = DepartmentFactory(name="市工信局")
        Mailbox.objects.create(department=self.with_mailbox, email="gxj@weifang.example")
        self.without_mailbox = DepartmentFactory(name="市财政局")
        self.inactive = DepartmentFactory(name="市旧局", is_active=False)
        self.consultation = ConsultationFactory(issuer=self.issuer)
        self.comments = [
            CommentFactory(consultation=self.consultation, invalid_reason="重复") for _ in range(3)
        ]
        first, second, third = self.comments
        self.routes = [
            (first, self.with_mailbox, True),
            (first, self.without_mailbox, False),
            (second, self.without_mailbox, True),
            (second, self.inactive, False),
            (third, self.inactive, True),
        ]
        for position, (comment, department, is_owner) in enumerate(self.routes):
            CommentRouting.objects.create(
                comment=comment,
                department=department,
                role=CommentRouting.Role.LEAD if is_owner else CommentRouting.Role.COOPERATING,
                is_owner=is_owner,
                position=position,
            )

    def outstanding(self, kind, statuses) -> set[int]:
        """Department ids a reminder of this kind is for, from the statuses alone (nobody here
        gives an opinion: every other department on an open comment still owes its own)."""
        owners = {d.pk for c, d, owner in self.routes if owner and statuses[c.pk] in OPEN}
        awaited = {d.pk for c, d, owner in self.routes if not owner and statuses[c.pk] in OPEN}
        if kind == Reminder.Kind.CLOSING:
            untouched = {
                d.pk
                for c, d, owner in self.routes
                if owner and statuses[c.pk] == Comment.Status.PENDING
            }
            return untouched | awaited
        if kind == Reminder.Kind.ANSWER_DUE:
            return owners | awaited
        return {self.issuer.pk} if owners else set()


@pytest.fixture
def world(db):
    return World()


@st.composite
def histories(draw):
    """A period, settings, the comments' first statuses, and runs at increasing instants,
    some with a comment's status changed just before."""
    opens_at, closes_at, answer_days = draw(periods())
    config = draw(REMINDER_SETTINGS)
    start = draw(instants_near(opens_at, closes_at, answer_days, config))
    steps = draw(
        st.lists(
            st.tuples(
                st.one_of(
                    st.just(datetime.timedelta(0)),
                    st.timedeltas(datetime.timedelta(seconds=1), datetime.timedelta(hours=2)),
                    st.timedeltas(datetime.timedelta(hours=2), datetime.timedelta(days=3)),
                    st.timedeltas(datetime.timedelta(days=3), datetime.timedelta(days=20)),
                ),
                st.one_of(st.none(), st.tuples(st.integers(0, 2), STATUSES)),
            ),
            max_size=5,
        )
    )
    statuses = draw(st.lists(STATUSES, min_size=3, max_size=3))
    report_published = draw(st.booleans())
    return opens_at, closes_at, answer_days, config, statuses, report_published, start, steps


HISTORY_WEIFANG = (
    datetime.datetime(2024, 10, 11, tzinfo=BEIJING),
    datetime.datetime(2024, 11, 10, 23, 59, 59, tzinfo=BEIJING),
    15,
    {
        "REMIND_DAYS_BEFORE_CLOSE": [3, 1],
        "REMIND_DAYS_BEFORE_ANSWER_DEADLINE": [5, 1],
        "REMIND_OVERDUE_EVERY_DAYS": 7,
        "REMIND_AT_HOUR": 9,
    },
    [Comment.Status.PENDING] * 3,
    False,
    datetime.datetime(2024, 11, 7, 9, 0, tzinfo=BEIJING),
    [
        (datetime.timedelta(0), None),
        (datetime.timedelta(days=2), (0, Comment.Status.IN_PROGRESS)),
        (datetime.timedelta(days=11), None),
        (datetime.timedelta(days=6), None),
        (datetime.timedelta(days=7), None),
    ],
)


@settings(
    max_examples=500,
    deadline=None,
    # `world` is built once for the test; each example undoes its own writes.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=histories())
@example(history=HISTORY_WEIFANG)
# Task 1's crash, through the whole job: open a day, closed early, answers due at the close.
@example(
    history=(
        datetime.datetime(2024, 11, 10, 0, 0, tzinfo=BEIJING),
        datetime.datetime(2024, 11, 10, 18, 0, tzinfo=BEIJING),
        0,
        HISTORY_WEIFANG[3],
        [Comment.Status.PENDING] * 3,
        False,
        datetime.datetime(2024, 11, 10, 9, 0, tzinfo=BEIJING),
        [(datetime.timedelta(days=1), None)],
    )
)
# Found by this property: a lead longer than the calendar crashed the consultations query.
@example(
    history=(
        *HISTORY_WEIFANG[:3],
        {**HISTORY_WEIFANG[3], "REMIND_DAYS_BEFORE_ANSWER_DEADLINE": [10**12]},
        *HISTORY_WEIFANG[4:],
    )
)
# Found by this property: daily overdue reminders missed while beat was down were never
# recorded (only the latest two of the lookback were looked at).
@example(
    history=(
        *HISTORY_WEIFANG[:3],
        {**HISTORY_WEIFANG[3], "REMIND_OVERDUE_EVERY_DAYS": 1},
        *HISTORY_WEIFANG[4:6],
        datetime.datetime(2024, 11, 26, 9, 0, tzinfo=BEIJING),
        [(datetime.timedelta(days=4), None)],
    )
)
def test_reminders_are_recorded_once_at_their_hour_before_their_deadline(world, history):
    opens_at, closes_at, answer_days, config, statuses, report_published, start, steps = history
    consultation = world.consultation
    current = {c.pk: s for c, s in zip(world.comments, statuses, strict=True)}

    with override_settings(**config), rolled_back():
        Consultation.objects.filter(pk=consultation.pk).update(
            opens_at=opens_at,
            closes_at=closes_at,
            answer_days=answer_days,
            report_published_at=closes_at if report_published else None,
        )
        consultation.refresh_from_db()
        for comment_pk, status in current.items():
            Comment.objects.filter(pk=comment_pk).update(status=status)
        answer_deadline = consultation.answer_deadline
        deadline_of = {
            Reminder.Kind.CLOSING: closes_at,
            Reminder.Kind.ANSWER_DUE: answer_deadline,
            Reminder.Kind.OVERDUE: answer_deadline,
        }

        runs = [(start, None)]
        for advance, change in steps:
            runs.append((runs[-1][0] + advance, change))
        for now, change in runs:
            if change is not None:
                comment = world.comments[change[0]]
                current[comment.pk] = change[1]
                Comment.objects.filter(pk=comment.pk).update(status=change[1])
            recorded_before = set(Reminder.objects.values_list("pk", flat=True))

            counts = reminders_send(now=now)

            new = list(Reminder.objects.exclude(pk__in=recorded_before))
            assert counts == {
                outcome.value: sum(r.outcome == outcome for r in new)
                for outcome in Reminder.Outcome
            }
            for reminder in new:
                assert reminder.due_at <= now
                assert local(reminder.due_at).time() == datetime.time(config["REMIND_AT_HOUR"])
                assert reminder.outstanding >= 1
                assert reminder.department_id in world.outstanding(reminder.kind, current)
                if reminder.kind in BEFORE_KINDS:
                    assert reminder.due_at < deadline_of[reminder.kind]
                else:
                    assert reminder.due_at > answer_deadline
                if reminder.outcome == Reminder.Outcome.QUEUED:
                    assert reminder.department_id != world.inactive.pk
                    # Never a "closes in 1 day" once closed, nor "answers due" once late.
                    if reminder.kind in BEFORE_KINDS:
                        assert now < deadline_of[reminder.kind]
            # Every reminder the contract says is due now is decided: sent, or recorded as
            # missed, or (for an inactive department, while it matters) left for later; and
            # nothing else is. Nothing new on a second run at the same instant.
            settled = report_published and not any(s in OPEN for s in current.values())
            due = [] if settled else reference_moments(consultation, config, now)
            assert {(r.kind, r.due_at) for r in new} <= {(kind, at) for kind, at, *_ in due}
            decided = set(Reminder.objects.values_list("kind", "department_id", "due_at"))
            for kind, due_at, until, _days_left in due:
                for department_id in world.outstanding(kind, current):
                    still_matters = until is None or now < until
                    if department_id == world.inactive.pk and still_matters:
                        continue
                    assert (kind, department_id, due_at) in decided
            assert reminders_send(now=now) == {"queued": 0, "missed": 0}

        reminders = list(Reminder.objects.filter(consultation=consultation))
        for kind, outcome in {(r.kind, r.outcome) for r in reminders}:
            event(f"{kind} {outcome}")
        keys = [(r.kind, r.department_id, r.due_at) for r in reminders]
        assert len(keys) == len(set(keys))
        queued = [r for r in reminders if r.outcome == Reminder.Outcome.QUEUED]
        assert all(r.notification_id is not None for r in queued)
        assert Notification.objects.filter(kind=Notification.Kind.REMINDER).count() == len(queued)
