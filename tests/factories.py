"""factory_boy factories for the domain models."""

import datetime

import factory
from django.utils import timezone

from consult.comments.models import Comment
from consult.comments.tallies import counts_publicly, tally_add
from consult.consultations.models import (
    Clause,
    ClauseResponsibility,
    Consultation,
    Department,
    Mailbox,
)
from consult.consultations.revisions import revision_first


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"市第{n}局")
    full_name = factory.LazyAttribute(lambda d: f"潍坊{d.name}")


class MailboxFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Mailbox

    department = factory.SubFactory(DepartmentFactory)
    email = factory.Sequence(lambda n: f"dept{n}@weifang.example")


class ConsultationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Consultation

    title = factory.Sequence(lambda n: f"关于第{n}号工作方案（征求意见稿）")
    slug = factory.Sequence(lambda n: f"consultation-{n}")
    issuer = factory.SubFactory(
        DepartmentFactory, name="市海渔局", full_name="潍坊市海洋发展和渔业局"
    )
    opens_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(days=1))
    closes_at = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=30))
    contact_name = "丁家楠"
    contact_email = "hycytjb@wf.shandong.cn"


class ClauseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Clause

    consultation = factory.SubFactory(ConsultationFactory)
    # The consultation's first draft, made with it (consultations.revisions).
    revision = factory.LazyAttribute(lambda c: revision_first(c.consultation))
    parent = None
    position = factory.Sequence(lambda n: n + 1)
    path = factory.LazyAttribute(
        lambda c: f"{c.parent.path}.{c.position:04d}" if c.parent else f"{c.position:04d}"
    )
    number = factory.LazyAttribute(lambda c: str(c.position))
    label = factory.LazyAttribute(lambda c: (c.parent.label if c.parent else "") + c.number)
    level = Clause.Level.ARABIC
    heading = factory.Sequence(lambda n: f"第{n}项任务")
    text = "推进海洋特色产业集聚区建设。"


def add_responsibility(clause, role, department_or_name, position=None):
    """Name a department (or a generic group, given as a string) in the clause's parenthesis."""
    if position is None:
        position = clause.responsibilities.count()
    if isinstance(department_or_name, str):
        return ClauseResponsibility.objects.create(
            clause=clause, position=position, role=role, name=department_or_name
        )
    return ClauseResponsibility.objects.create(
        clause=clause,
        position=position,
        role=role,
        name=department_or_name.name,
        department=department_or_name,
    )


class CommentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Comment
        skip_postgeneration_save = True

    consultation = factory.SubFactory(ConsultationFactory)
    clause = None
    tracking_number = factory.Sequence(lambda n: f"K{n:09d}"[-10:].replace("0", "3"))
    body = "建议进一步明确集聚区认定标准，并公开评选流程。"
    body_digest = "0" * 64
    consent = True
    consent_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def tallied(comment, create, extracted, **kwargs):
        # comment_store keeps the public counts; a comment made here must be counted as well.
        if create and counts_publicly(comment.status):
            tally_add(consultation_id=comment.consultation_id, clause_id=comment.clause_id, delta=1)
