"""Department staff reach only their departments' comments and attachments."""

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile

from consult.comments.access import comments_visible_to
from consult.comments.services import comment_submit
from consult.consultations.models import Department, Membership

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def staff_of(name, department_name, *, can_view=True):
    user = User.objects.create_user(name, password="pw", is_staff=True)
    Membership.objects.create(user=user, department=Department.objects.get(name=department_name))
    if can_view:
        user.user_permissions.add(Permission.objects.get(codename="view_comment"))
    return user


@pytest.fixture
def comments(weifang_open):
    """One comment on 二(一)1 (市发改委 leads, 市科技局 cooperates) and one on 二(三)1."""

    def submit(label, body):
        return comment_submit(
            consultation=weifang_open,
            clause=weifang_open.clauses.get(label=label),
            body=body,
            channel="web",
            consent=True,
            phone="13812345678",
            attachment=SimpleUploadedFile("意见.pdf", PDF, content_type="application/pdf"),
            attachment_type="pdf",
        ).comment

    return submit("二(一)1", "关于集聚区评价指标的意见，请予考虑。"), submit(
        "二(三)1", "关于另一条款的意见，请予以考虑。"
    )


def routed_names(comment):
    return {route.department.name for route in comment.routes.select_related("department")}


def unconcerned_department(comments):
    """A department neither comment is routed to, and not the issuer."""
    concerned = set().union(*(routed_names(comment) for comment in comments)) | {"市海渔局"}
    return Department.objects.exclude(name__in=concerned).values_list("name", flat=True)[0]


def test_the_rule(comments):
    first, second = comments
    lead = staff_of("fgw", "市发改委")
    cooperating = staff_of("kjj", "市科技局")
    outsider = staff_of("outsider", unconcerned_department(comments))
    coordinator = staff_of("hyj", "市海渔局")
    root = User.objects.create_superuser("root", password="pw")
    citizen = User.objects.create_user("citizen", password="pw")

    def visible(user):
        return set(comments_visible_to(user).values_list("pk", flat=True))

    assert first.pk in visible(lead)
    assert first.pk in visible(cooperating)
    assert visible(outsider) == set()
    assert visible(coordinator) == {first.pk, second.pk}
    assert visible(root) == {first.pk, second.pk}
    assert visible(citizen) == set()
    assert (second.pk in visible(lead)) == ("市发改委" in routed_names(second))


def test_attachment_download_is_scoped_and_never_inline(client, comments):
    first, _ = comments
    attachment = first.attachments.get()
    url = f"/staff/attachments/{attachment.pk}/"

    # Anonymous: sent to the admin login.
    response = client.get(url)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]

    outsider = staff_of("outsider", unconcerned_department(comments))
    client.force_login(outsider)
    assert client.get(url).status_code == 404

    client.force_login(staff_of("fgw", "市发改委"))
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


def test_admin_list_and_change_page_are_scoped(client, comments):
    first, second = comments
    assert "市卫健委" in routed_names(first) and "市卫健委" not in routed_names(second)
    client.force_login(staff_of("wjw", "市卫健委"))
    page = client.get("/admin/comments/comment/").content.decode()
    assert first.tracking_number in page
    assert second.tracking_number not in page
    assert client.get(f"/admin/comments/comment/{first.pk}/change/").status_code == 200
    # Another department's comment by URL: the admin answers as for a missing object.
    response = client.get(f"/admin/comments/comment/{second.pk}/change/")
    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_the_consultation_list_says_its_count_is_every_department_s(client, weifang_open):
    """A department read 8 under "意见数" there and found 3 in its queue."""
    from django.contrib.auth.models import User

    from consult.comments.services import comment_submit
    from consult.consultations.models import Department
    from consult.consultations.services import staff_join

    for label in ("二(四)2", "二(三)4"):
        comment_submit(
            consultation=weifang_open,
            clause=weifang_open.clauses.get(label=label),
            body="建议公开海洋生态修复项目的资金使用情况。",
            channel="web",
            consent=True,
        )
    user = User.objects.create_user("sthj-list", password="pw")
    staff_join(user, Department.objects.get(name="市生态环境局"))
    client.force_login(user)
    response = client.get("/admin/consultations/consultation/")
    assert response.status_code == 200
    row = response.context["cl"].result_list.get(pk=weifang_open.pk)
    assert row.comment_total == 2
    assert "收到意见总数" in response.content.decode()


def test_comments_are_not_deleted_in_the_admin_not_even_by_a_superuser(client, weifang_open):
    """A delete left the emails with the submitter's details, the attached file and the public
    count behind: a comment is marked invalid, and its personal data purged when due."""
    from django.contrib.auth.models import User

    from consult.comments.services import comment_submit

    comment = comment_submit(
        consultation=weifang_open,
        clause=None,
        body="建议公开海洋生态修复项目的资金使用情况。",
        channel="web",
        consent=True,
        phone="13812345678",
    ).comment
    client.force_login(User.objects.create_superuser("root", "root@example.cn", "pw"))
    response = client.post(f"/admin/comments/comment/{comment.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    listing = client.get("/admin/comments/comment/?scope=all")
    assert "delete_selected" not in listing.content.decode()
    assert type(comment).objects.filter(pk=comment.pk).exists()
