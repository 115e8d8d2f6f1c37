"""Signed links to a comment's status page, as the emails carry them."""

from django.urls import reverse

from consult.comments.models import Comment
from consult.comments.status_links import comment_status_urls, tracking_number_from_token
from consult.notifications.rendering import site_url


def test_the_status_links_of_a_batch_are_each_comments_own(db):
    comments = [Comment(pk=n, tracking_number=f"ABCD{n:06d}") for n in (1, 2, 3)]
    urls = comment_status_urls(comments)
    for comment in comments:
        token = urls[comment.pk].rstrip("/").rsplit("/", 1)[1]
        assert tracking_number_from_token(token) == comment.tracking_number
        path = reverse("intake:comment_status_signed", kwargs={"token": token})
        assert urls[comment.pk] == site_url(path)
