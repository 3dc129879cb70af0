"""A site's staff (職員管理): inviting editors and coordinators, the reviewer flag
(公開承認), and removing people.

Staff rights come from membership rows, read by the security policy on every
request, so deleting a membership ends that person's rights at once.
"""
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from ..i18n import _
from ..models import Account, Invitation, Site, StaffMembership
from .audit import Actor, AuditLog
from .errors import InvalidInput, NotAllowed
from .invitations import InvitationService
from .sites import checked_email

INVITABLE_ROLES = ("editor", "coordinator")
"""Roles a site admin may hand out. Site admins themselves are invited by the
national operator, partners by their own workflow in a later part."""

ROLE_LABELS = {
    "site_admin": _("Site administrator"),
    "editor": _("Editor"),
    "coordinator": _("Coordinator"),
    "partner": _("Partner organisation"),
}
ROLE_ORDER = {role: index for index, role in enumerate(ROLE_LABELS)}


ROLE_LANDINGS = {
    "site_admin": "manage",
    "coordinator": "manage",
    "partner": "manage",
    "editor": "posts/manage",
}
"""Where each staff role starts its work on its site (issue 18: each role lands on its own
screen): the management page lists what the role may do; editors write posts."""


def landing_path(dbsession, account) -> str:
    """The page a person lands on after signing in: registrants their own page, the
    operator the national area, staff their (first) site's screen for their role, and a
    staff account without a site its account page."""
    if account.kind == "registrant":
        return "/my/"
    if account.is_operator:
        return "/operator/"
    membership = dbsession.execute(
        select(StaffMembership.role, Site.code)
        .join(Site, Site.id == StaffMembership.site_id)
        .where(StaffMembership.account_id == account.id)
        .order_by(StaffMembership.id).limit(1)
    ).first()
    if membership is None:
        return "/account"
    return f"/s/{membership.code}/{ROLE_LANDINGS[membership.role]}"


class StaffService:
    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings
        self.audit = AuditLog(dbsession, clock)

    def invite(self, actor: Actor, site, email, role, is_reviewer=False):
        """Invite a person as editor or coordinator; returns ``(invitation, token)``.
        The reviewer flag only means something for editors and is dropped otherwise."""
        if role not in INVITABLE_ROLES:
            raise InvalidInput(_("Choose editor or coordinator."), field="role")
        email = checked_email(email, "email")
        if self._is_member(site, email):
            raise InvalidInput(
                _("This person is already on the staff of this site."), field="email"
            )
        return InvitationService(self.dbsession, clock=self.clock, settings=self.settings).invite(
            actor, site, email, role, is_reviewer=bool(is_reviewer) and role == "editor"
        )

    def remove(self, actor: Actor, membership: StaffMembership):
        """Take a person off the site's staff. The last site admin stays, so a site
        is never left without someone who can manage it."""
        if membership.role == "site_admin" and self._site_admin_count(membership.site_id) <= 1:
            raise NotAllowed(
                _("The last site administrator cannot be removed. Ask the national operator "
                  "to invite another site administrator first.")
            )
        account = membership.account
        self.audit.record(
            actor, "staff.remove", site_id=membership.site_id, target=membership,
            account_id=membership.account_id, email=account.email, role=membership.role,
        )
        self.dbsession.delete(membership)
        self.dbsession.flush()

    def set_reviewer(self, actor: Actor, membership: StaffMembership, flag: bool):
        """Let an editor publish (or stop them); only editors carry the flag."""
        if membership.role != "editor":
            raise NotAllowed(_("Only editors can be given the right to publish."))
        flag = bool(flag)
        if membership.is_reviewer == flag:
            return
        membership.is_reviewer = flag
        self.dbsession.flush()
        self.audit.record(
            actor, "staff.reviewer", site_id=membership.site_id, target=membership,
            account_id=membership.account_id, is_reviewer=flag,
        )

    def memberships(self, site) -> list:
        """Everyone on the site's staff with their account, administrators first."""
        rows = self.dbsession.scalars(
            select(StaffMembership)
            .options(joinedload(StaffMembership.account))
            .where(StaffMembership.site_id == site.id)
        ).all()
        return sorted(
            rows, key=lambda m: (ROLE_ORDER.get(m.role, 99), m.account.display_name, m.id)
        )

    def open_invitations(self, site) -> list:
        """Invitations not yet accepted, revoked or expired, newest first."""
        return list(
            self.dbsession.scalars(
                select(Invitation)
                .where(
                    Invitation.site_id == site.id,
                    Invitation.accepted_at.is_(None),
                    Invitation.revoked_at.is_(None),
                    Invitation.expires_at > self.clock(),
                )
                .order_by(Invitation.created_at.desc(), Invitation.id.desc())
            )
        )

    def _site_admin_count(self, site_id) -> int:
        """Counted with the site row locked, so two admins removing each other at the
        same moment cannot both succeed."""
        self.dbsession.execute(select(Site.id).where(Site.id == site_id).with_for_update())
        return self.dbsession.scalar(
            select(func.count())
            .select_from(StaffMembership)
            .where(StaffMembership.site_id == site_id, StaffMembership.role == "site_admin")
        )

    def _is_member(self, site, email) -> bool:
        return (
            self.dbsession.scalar(
                select(StaffMembership.id)
                .join(Account, Account.id == StaffMembership.account_id)
                .where(StaffMembership.site_id == site.id, Account.email == email)
            )
            is not None
        )
