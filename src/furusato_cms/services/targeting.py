"""Targeted information (登録者のニーズに応じた情報発信): an editor aims a published post at
the site's registrants by tier (basic/premium), relationship type (類型①–④) and
interest, sees how many people it will reach, then sends it.

Who is reached: people with an **active** registration with the post's site (released
and left ones never count; at-home registrations do: the guideline leaves them out of
statistics only), matching every dimension the editor narrowed (within one dimension,
any of the chosen values; a registration matches the types when it chose any of them), and
to whom the notice rule of services/notifications.py delivers (not unsubscribed from
the site or from targeted posts, a channel on). The count shown before sending is one
COUNT over exactly the rows the send then writes.

A post is sent once (the campaign's key is ``post:<id>``): the inbox rows and the
outbox rows are written with one INSERT … SELECT each, and furusato-send-campaign
mails them in the background.
"""
from sqlalchemy import exists, select

from ..i18n import _
from ..interests import INTERESTS
from ..models import PostTarget, Registration, RegistrantInterest
from ..models.registration import REGISTRATION_TIERS
from ..vocabulary import RELATIONSHIP_TYPES
from .audit import AuditLog
from .errors import Conflict, InvalidInput, NotAllowed
from .json_sql import holds_any
from .notifications import NotificationService, Reach, count_reach

KIND = "targeted_post"
EXCERPT_MAX = 300


def post_key(post) -> str:
    return f"post:{post.id}"


class TargetingService:
    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings
        self.audit = AuditLog(dbsession, clock)
        self.notifications = NotificationService(dbsession, clock=clock, settings=settings)

    def saved_target(self, post) -> PostTarget | None:
        return self.dbsession.get(PostTarget, post.id)

    def target_of(self, post) -> PostTarget:
        """The saved target, or a first suggestion (the post's own tags as interests)."""
        saved = self.saved_target(post)
        if saved is not None:
            return saved
        return PostTarget(post_id=post.id, tiers=[], relationship_types=[],
                          interests=list(post.tags))

    def save_target(self, actor, post, *, tiers=(), relationship_types=(), interests=()):
        tiers = sorted(set(tiers or ()))
        types = sorted({int(t) for t in relationship_types or ()})
        interests = sorted(set(interests or ()))
        if set(tiers) - set(REGISTRATION_TIERS):
            raise InvalidInput(_("Choose tiers from the list."), field="tiers")
        if set(types) - set(RELATIONSHIP_TYPES):
            raise InvalidInput(_("Choose relationship types from the list."),
                               field="relationship_types")
        if set(interests) - set(INTERESTS):
            raise InvalidInput(_("Choose interests from the list."), field="interests")
        target = self.dbsession.get(PostTarget, post.id)
        if target is None:
            target = PostTarget(post_id=post.id)
            self.dbsession.add(target)
        target.tiers, target.relationship_types, target.interests = tiers, types, interests
        target.updated_at = self.clock()
        target.updated_by_id = actor.account_id
        self.dbsession.flush()
        self.audit.record(actor, "notifications.target", site_id=post.site_id, target=post,
                          tiers=tiers, relationship_types=types, interests=interests)
        return target

    def audience(self, post, target):
        """A select of the account ids the target names (before the notice rule)."""
        criteria = [Registration.site_id == post.site_id, Registration.state == "active"]
        if target.tiers:
            criteria.append(Registration.tier.in_(target.tiers))
        if target.relationship_types:
            criteria.append(holds_any(self.dbsession.get_bind().dialect.name,
                                      Registration.relationship_types, target.relationship_types))
        if target.interests:
            criteria.append(exists().where(RegistrantInterest.account_id == Registration.account_id,
                                           RegistrantInterest.interest.in_(target.interests)))
        return select(Registration.account_id).where(*criteria)

    def reach(self, post, target=None) -> Reach:
        """How many people the post would reach now, and how many of them by mail."""
        target = target if target is not None else self.target_of(post)
        return count_reach(self.dbsession, post.site_id, KIND, self.audience(post, target))

    def campaign_of(self, post):
        return self.notifications.campaign_by_key(post_key(post))

    def send(self, actor, post):
        """Send the post to its saved target: inbox rows now, mails through the outbox."""
        target = self.saved_target(post)
        if target is None:
            raise InvalidInput(_("Save the target first, and check how many people it reaches."))
        sent = self.campaign_of(post)
        if sent is not None:
            raise Conflict(_("This post has already been sent (to ${n} people).",
                             mapping={"n": sent.recipients}))
        if not post.site.is_public or not post.is_visible_at(self.clock()):
            raise NotAllowed(_("Only a post that is published and shown on the site now can "
                               "be sent, so the link in the notice works."))
        campaign = self.notifications.notify(
            self.audience(post, target), KIND, post.site, post.title,
            post.summary or post.body[:EXCERPT_MAX], f"/s/{post.site.code}/posts/{post.slug}",
            key=post_key(post), post_id=post.id, actor=actor, via_outbox=True,
        )
        if campaign is None:
            raise Conflict(_("This post has just been sent by someone else."))
        self.audit.record(actor, "notifications.send", site_id=post.site_id, target=post,
                          campaign=campaign.id, recipients=campaign.recipients,
                          emails=campaign.emails)
        return campaign
