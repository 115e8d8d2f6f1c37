"""Who may see which comments: the one rule the admin, downloads, exports and the API share.

Department staff see the comments routed to their departments; staff of the issuing bureau
(coordinators) see every comment of the consultations it issued; superusers see everything.
"""

from django.db.models import Exists, OuterRef, Q

from .models import Comment, CommentRouting


def comments_visible_to(user, comments=None):
    comments = Comment.objects.all() if comments is None else comments
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return comments.none()
    if user.is_superuser:
        return comments
    routed_to_member = CommentRouting.objects.filter(
        comment=OuterRef("pk"), department__memberships__user=user
    )
    return comments.filter(
        Q(Exists(routed_to_member)) | Q(consultation__issuer__memberships__user=user)
    )


def comment_visible_to(user, comment) -> bool:
    return comments_visible_to(user, Comment.objects.filter(pk=comment.pk)).exists()
