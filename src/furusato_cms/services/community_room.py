"""The online community room (オンラインコミュニティルーム) of a site.

Rules kept here:

- A site switches its room on or off (site admins; off by default). While it is off,
  or while the site is not active, nobody posts and the room's pages say it is closed.
- The room is for the people registered with the site (an active registration) and
  the site's staff (site admins, editors, coordinators), who post as the site.
  Names are shown with posts; the page says so before anyone writes.
- Threads and replies are plain text (``BODY_MAX`` characters, titles ``TITLE_MAX``),
  shown escaped with only http(s) links made live (``rel="nofollow ugc noopener"``).
- Against flooding, a person may post at most ``POSTS_PER_WINDOW`` times in
  ``WINDOW`` (threads and replies alike), counted from the posts themselves in the
  database with the service's clock, so the limit holds across processes and
  restarts. The person's account row is locked while counting, so simultaneous posts
  of one person cannot slip past the count together.
- Participants report posts (once per person and post, with a reason); moderators
  (site admins, coordinators) hide posts or whole threads with a reason, or keep a
  reported post. The author of what was hidden is told by mail with the reason.
  Hidden content stays in the database for the record and is shown to moderators.
"""
import math
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload

from ..i18n import _
from ..models import (
    Account,
    Registration,
    RoomPost,
    RoomReport,
    RoomThread,
    Site,
    StaffMembership,
)
from .audit import AuditLog
from .consultations import checked_body
from .errors import Conflict, InvalidInput, NotAllowed
from .mail import Mail, localizer_for, queue_mail
from .paging import fetch_page

TITLE_MAX = 100
REASON_MAX = 1000
POSTS_PER_WINDOW = 5
WINDOW = timedelta(minutes=10)
THREADS_PAGE_SIZE = 30
POSTS_PAGE_SIZE = 100
PARTICIPANT_STAFF_ROLES = ("site_admin", "editor", "coordinator")
EXCERPT_MAX = 200


@dataclass
class Reported:
    """A post waiting for a moderator: how many people reported it, and why."""

    post: RoomPost
    count: int
    reasons: list


class CommunityRoomService:
    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings
        self.audit = AuditLog(dbsession, clock)

    # -- who may take part -------------------------------------------------------------

    def check_member(self, site, account) -> bool:
        """Raise why ``account`` cannot take part in the room; True for the site's staff."""
        if not site.is_public or not site.community_room_enabled:
            raise NotAllowed(_("The community room of ${site} is closed.",
                               mapping={"site": site.name}))
        if account is None:
            raise NotAllowed(_("Please sign in to take part in the community room."))
        if self._is_staff(site, account):
            return True
        registered = self.dbsession.scalar(
            select(func.count()).select_from(Registration).where(
                Registration.site_id == site.id, Registration.account_id == account.id,
                Registration.state == "active"))
        if not registered:
            raise NotAllowed(_("The community room is for people registered with ${site}. "
                               "Register with ${site} to join the conversation.",
                               mapping={"site": site.name}))
        return False

    # -- reading -------------------------------------------------------------------------

    def threads(self, site, *, page=1, include_hidden=False):
        """A page of threads, the most recently active first."""
        statement = (select(RoomThread).where(RoomThread.site_id == site.id)
                     .order_by(RoomThread.last_post_at.desc(), RoomThread.id.desc()))
        if not include_hidden:
            statement = statement.where(RoomThread.hidden_at.is_(None))
        return fetch_page(self.dbsession, statement, page=page, page_size=THREADS_PAGE_SIZE)

    def post_counts(self, thread_ids) -> dict:
        """thread id -> number of posts, in one query."""
        if not thread_ids:
            return {}
        return dict(self.dbsession.execute(
            select(RoomPost.thread_id, func.count()).where(RoomPost.thread_id.in_(thread_ids))
            .group_by(RoomPost.thread_id)
        ).all())

    def posts(self, thread, *, page=1):
        """A page of a thread's posts, oldest first (hidden ones too, shown as hidden)."""
        return fetch_page(
            self.dbsession,
            select(RoomPost).options(joinedload(RoomPost.author))
            .where(RoomPost.thread_id == thread.id)
            .order_by(RoomPost.created_at, RoomPost.id),
            page=page, page_size=POSTS_PAGE_SIZE)

    # -- writing -------------------------------------------------------------------------

    def start_thread(self, account, site, *, title, body) -> RoomThread:
        staff = self.check_member(site, account)
        title = " ".join((title or "").split())
        if not title:
            raise InvalidInput(_("Give the thread a title."), field="title")
        if len(title) > TITLE_MAX:
            raise InvalidInput(_("At most ${max} characters.", mapping={"max": TITLE_MAX}),
                               field="title")
        body = checked_body(body)
        self._check_rate(account)
        now = self.clock()
        thread = RoomThread(site_id=site.id, title=title, author_id=account.id, created_at=now,
                            last_post_at=now, hidden_reason="")
        self.dbsession.add(thread)
        self.dbsession.flush()
        self.dbsession.add(RoomPost(thread_id=thread.id, author_id=account.id, from_staff=staff,
                                    body=body, created_at=now, hidden_reason=""))
        self.dbsession.flush()
        return thread

    def reply(self, account, thread, body) -> RoomPost:
        staff = self.check_member(self._site_of(thread), account)
        if thread.hidden_at is not None:
            raise NotAllowed(_("This thread was hidden by the moderators and takes no replies."),
                             field="body")
        body = checked_body(body)
        self._check_rate(account)
        now = self.clock()
        post = RoomPost(thread_id=thread.id, author_id=account.id, from_staff=staff, body=body,
                        created_at=now, hidden_reason="")
        self.dbsession.add(post)
        thread.last_post_at = now
        self.dbsession.flush()
        return post

    def report(self, account, post, reason) -> RoomReport:
        """Tell the moderators about a post; one report per person and post."""
        self.check_member(self._site_of(post.thread), account)
        if post.author_id == account.id:
            raise NotAllowed(_("You cannot report your own post."))
        if post.hidden_at is not None or post.thread.hidden_at is not None:
            raise NotAllowed(_("This post has already been hidden by the moderators."))
        reason = _checked_reason(reason, _("Tell the moderators what is wrong with this post."))
        already = self.dbsession.scalar(
            select(RoomReport.id).where(RoomReport.post_id == post.id,
                                        RoomReport.reporter_id == account.id))
        if already is not None:
            raise Conflict(_("You have already reported this post. The moderators will look "
                             "at it."))
        report = RoomReport(post_id=post.id, reporter_id=account.id, reason=reason,
                            created_at=self.clock())
        self.dbsession.add(report)
        self.dbsession.flush()
        return report

    # -- moderating ----------------------------------------------------------------------

    def reported(self, site) -> list:
        """Posts of the site with open reports, the most reported first (two queries)."""
        rows = self.dbsession.execute(
            select(RoomPost, func.count(RoomReport.id))
            .options(joinedload(RoomPost.author))
            .join(RoomReport, RoomReport.post_id == RoomPost.id)
            .join(RoomThread, RoomThread.id == RoomPost.thread_id)
            .where(RoomThread.site_id == site.id, RoomReport.handled_at.is_(None))
            .group_by(RoomPost.id)
            .order_by(func.count(RoomReport.id).desc(), RoomPost.id)
        ).all()
        reasons = {}
        for post_id, reason in self.dbsession.execute(
            select(RoomReport.post_id, RoomReport.reason)
            .where(RoomReport.post_id.in_([post.id for post, _count in rows]),
                   RoomReport.handled_at.is_(None))
            .order_by(RoomReport.id)
        ):
            reasons.setdefault(post_id, []).append(reason)
        return [Reported(post, count, reasons.get(post.id, [])) for post, count in rows]

    def hidden(self, site, limit=50) -> list:
        """The most recently hidden posts of the site, for the moderators' record."""
        return list(self.dbsession.scalars(
            select(RoomPost).options(joinedload(RoomPost.author))
            .join(RoomThread, RoomThread.id == RoomPost.thread_id)
            .where(RoomThread.site_id == site.id, RoomPost.hidden_at.is_not(None))
            .order_by(RoomPost.hidden_at.desc()).limit(limit)))

    def hide_post(self, actor, post, reason):
        reason = _checked_reason(reason, _("Give the reason; the author is told."))
        if post.hidden_at is not None:
            raise NotAllowed(_("This post is already hidden."))
        self._hide(actor, post, reason)
        self._handle_reports([post.id])
        site = self._site_of(post.thread)
        self.audit.record(actor, "room.hide_post", site_id=site.id, target=post, reason=reason)
        self._tell_author(post.author_id, actor, site, post.thread, post.body, reason)

    def hide_thread(self, actor, thread, reason):
        reason = _checked_reason(reason, _("Give the reason; the author is told."))
        if thread.hidden_at is not None:
            raise NotAllowed(_("This thread is already hidden."))
        self._hide(actor, thread, reason)
        self._handle_reports(select(RoomPost.id).where(RoomPost.thread_id == thread.id))
        site = self._site_of(thread)
        self.audit.record(actor, "room.hide_thread", site_id=site.id, target=thread,
                          reason=reason)
        self._tell_author(thread.author_id, actor, site, thread, thread.title, reason)

    def keep_post(self, actor, post):
        """The moderator looked and the post stays: its open reports are closed."""
        self._handle_reports([post.id])
        self.audit.record(actor, "room.keep_post", site_id=self._site_of(post.thread).id,
                          target=post)

    def set_enabled(self, actor, site, enabled: bool):
        site.community_room_enabled = bool(enabled)
        self.dbsession.flush()
        self.audit.record(actor, "room.enable" if enabled else "room.disable", site_id=site.id,
                          target=site)

    # -- rules ---------------------------------------------------------------------------

    def _check_rate(self, account):
        """At most POSTS_PER_WINDOW posts in WINDOW; the message says how long to wait."""
        self.dbsession.execute(
            select(Account.id).where(Account.id == account.id).with_for_update(key_share=True))
        now = self.clock()
        recent = self.dbsession.scalars(
            select(RoomPost.created_at)
            .where(RoomPost.author_id == account.id, RoomPost.created_at > now - WINDOW)
            .order_by(RoomPost.created_at.desc()).limit(POSTS_PER_WINDOW)
        ).all()
        if len(recent) < POSTS_PER_WINDOW:
            return
        free_at = recent[-1] + WINDOW
        minutes = max(1, math.ceil((free_at - now).total_seconds() / 60))
        raise NotAllowed(
            _("You have posted ${n} times in the last ${window} minutes. To keep the room "
              "calm, please wait ${minutes} minutes before posting again.",
              mapping={"n": POSTS_PER_WINDOW, "window": int(WINDOW.total_seconds() // 60),
                       "minutes": minutes}), field="body")

    def _hide(self, actor, item, reason):
        item.hidden_at = self.clock()
        item.hidden_reason = reason
        item.hidden_by_id = actor.account_id
        self.dbsession.flush()

    def _handle_reports(self, post_ids):
        self.dbsession.execute(
            update(RoomReport)
            .where(RoomReport.post_id.in_(post_ids), RoomReport.handled_at.is_(None))
            .values(handled_at=self.clock()))

    def _is_staff(self, site, account) -> bool:
        return self.dbsession.scalar(
            select(func.count()).select_from(StaffMembership).where(
                StaffMembership.site_id == site.id, StaffMembership.account_id == account.id,
                StaffMembership.role.in_(PARTICIPANT_STAFF_ROLES))
        ) > 0

    def _site_of(self, thread):
        return self.dbsession.get(Site, thread.site_id)

    def _tell_author(self, author_id, actor, site, thread, text, reason):
        """Mail the author what was hidden and why, in their language."""
        if author_id == actor.account_id:
            return
        author = self.dbsession.get(Account, author_id)
        translate = localizer_for(self.settings, author.locale).translate
        mapping = {"name": author.display_name, "site": site.name, "title": thread.title}
        excerpt = text if len(text) <= EXCERPT_MAX else text[:EXCERPT_MAX] + "…"
        lines = [
            translate(_("Dear ${name},", mapping=mapping)),
            "",
            translate(_("A moderator of the community room of ${site} has hidden what you "
                        "wrote in “${title}”.", mapping=mapping)),
            "",
            translate(_("Reason: ${reason}", mapping={"reason": reason})),
            "",
            translate(_("What was hidden:")),
            *("> " + line for line in excerpt.splitlines()),
            "",
            translate(_("If you think this was a mistake, please contact ${site}.",
                        mapping=mapping)),
            f"{self.settings.base_url}/s/{site.code}/room/",
        ]
        queue_mail(self.dbsession, self.settings, Mail(
            to=author.email, text="\n".join(lines) + "\n",
            subject=translate(_("[${site}] Your post in the community room was hidden",
                                mapping=mapping))))


def _checked_reason(reason, missing_message) -> str:
    reason = (reason or "").replace("\r\n", "\n").strip()
    if not reason:
        raise InvalidInput(missing_message, field="reason")
    if len(reason) > REASON_MAX:
        raise InvalidInput(_("At most ${max} characters.", mapping={"max": REASON_MAX}),
                           field="reason")
    return reason
