"""Partner organisations (関係団体) of a site and their staff.

A site admin registers the organisations that run contributor activities with the
site (a neighbourhood association, the fire brigade, an NPO …) and chooses how their
projects count for premium registration: pattern ① the site designates each project,
or pattern ② every project counts unless the site excludes it. The pattern only sets
a new project's ``designated`` flag; the flag itself is the data that counts.

Partner staff are ordinary staff invitations with the ``partner`` role and the
organisation's id, so the security policy gives them the ``partner:<id>`` principal
and with it rights over that organisation's projects only.
"""
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import joinedload

from ..i18n import _
from ..models import Account, Invitation, PartnerOrganisation, Site, StaffMembership
from ..models.partner import DESIGNATION_PATTERNS, PARTNER_KINDS
from .audit import AuditLog
from .errors import Conflict, InvalidInput, NotAllowed
from .invitations import InvitationService
from .sites import checked_email

NAME_MAX = 200

PARTNER_KIND_LABELS = {
    "neighbourhood_association": _("Neighbourhood association"),
    "community_organisation": _("Community management organisation"),
    "fire_brigade": _("Volunteer fire brigade"),
    "pta": _("PTA"),
    "npo": _("NPO"),
    "town_development_company": _("Town development company"),
    "dmo": _("DMO (tourism destination management)"),
    "chamber_of_commerce": _("Society of commerce and industry"),
    "dual_residence_support": _("Dual residence support corporation"),
    "intermediary_support": _("Intermediary support organisation"),
    "other": _("Other organisation"),
}

DESIGNATION_LABELS = {
    "per_project": _("① The site designates each project"),
    "all_unless_excluded": _("② Every project counts unless the site excludes it"),
}


class PartnerService:
    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings
        self.audit = AuditLog(dbsession, clock)

    # -- reading -----------------------------------------------------------------

    def partners(self, site, *, include_retired=True) -> list:
        """The site's partners, current ones first, by name."""
        criteria = [PartnerOrganisation.site_id == site.id]
        if not include_retired:
            criteria.append(PartnerOrganisation.retired_at.is_(None))
        return list(self.dbsession.scalars(
            select(PartnerOrganisation).where(*criteria).order_by(
                PartnerOrganisation.retired_at.is_not(None), PartnerOrganisation.name,
                PartnerOrganisation.id,
            )
        ))

    def staff_counts(self, site) -> dict:
        """Number of staff accounts per partner id, in one query."""
        return dict(self.dbsession.execute(
            select(StaffMembership.partner_id, func.count())
            .where(StaffMembership.site_id == site.id, StaffMembership.partner_id.is_not(None))
            .group_by(StaffMembership.partner_id)
        ).all())

    def staff(self, partner) -> list:
        """The organisation's staff memberships with their accounts."""
        return list(self.dbsession.scalars(
            select(StaffMembership)
            .options(joinedload(StaffMembership.account))
            .where(StaffMembership.partner_id == partner.id)
            .order_by(StaffMembership.id)
        ))

    def open_invitations(self, partner) -> list:
        return list(self.dbsession.scalars(
            select(Invitation).where(
                Invitation.partner_id == partner.id,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > self.clock(),
            ).order_by(Invitation.created_at.desc(), Invitation.id.desc())
        ))

    # -- writing -----------------------------------------------------------------

    def create(self, actor, site, *, name, kind, designation_pattern, contact_email=""):
        values = self._checked(site, name, kind, designation_pattern, contact_email)
        partner = PartnerOrganisation(site_id=site.id, created_at=self.clock(), **values)
        self.dbsession.add(partner)
        self.dbsession.flush()
        self.audit.record(actor, "partner.create", site_id=site.id, target=partner, **values)
        return partner

    def update(self, actor, partner, *, name, kind, designation_pattern, contact_email=""):
        """Changing the pattern applies to projects created from now on; projects that
        exist keep their designation (the site changes those one by one)."""
        self._check_current(partner)
        values = self._checked(self._site(partner), name, kind, designation_pattern,
                               contact_email, partner=partner)
        changed = {k: v for k, v in values.items() if getattr(partner, k) != v}
        for key, value in changed.items():
            setattr(partner, key, value)
        self.dbsession.flush()
        self.audit.record(actor, "partner.update", site_id=partner.site_id, target=partner,
                          **changed)
        return partner

    def retire(self, actor, partner):
        """The organisation stops working with the site: its staff lose their access
        and open invitations stop working. Its projects and their attendance stay and
        are managed by the site's coordinators from now on."""
        self._check_current(partner)
        now = self.clock()
        partner.retired_at = now
        removed = self.dbsession.execute(
            delete(StaffMembership).where(StaffMembership.partner_id == partner.id)
        ).rowcount
        revoked = self.dbsession.execute(
            update(Invitation)
            .where(Invitation.partner_id == partner.id, Invitation.accepted_at.is_(None),
                   Invitation.revoked_at.is_(None))
            .values(revoked_at=now)
        ).rowcount
        self.dbsession.flush()
        self.audit.record(actor, "partner.retire", site_id=partner.site_id, target=partner,
                          staff_removed=removed, invitations_revoked=revoked)

    def invite(self, actor, partner, email):
        """Invite a person as the organisation's staff; returns ``(invitation, token)``."""
        self._check_current(partner)
        email = checked_email(email, "email")
        if self.dbsession.scalar(
            select(StaffMembership.id)
            .join(Account, Account.id == StaffMembership.account_id)
            .where(StaffMembership.site_id == partner.site_id, Account.email == email)
        ):
            raise InvalidInput(_("This person is already on the staff of this site."),
                               field="email")
        invitation, token = InvitationService(
            self.dbsession, clock=self.clock, settings=self.settings
        ).invite(actor, self._site(partner), email, "partner")
        invitation.partner_id = partner.id
        self.dbsession.flush()
        self.audit.record(actor, "partner.invite", site_id=partner.site_id, target=partner,
                          invitation_id=invitation.id, email=email)
        return invitation, token

    # -- rules -------------------------------------------------------------------

    def _checked(self, site, name, kind, designation_pattern, contact_email, *, partner=None):
        name = " ".join((name or "").split())
        if not name:
            raise InvalidInput(_("Enter the organisation's name."), field="name")
        if len(name) > NAME_MAX:
            raise InvalidInput(_("At most ${max} characters.", mapping={"max": NAME_MAX}),
                               field="name")
        if kind not in PARTNER_KINDS:
            raise InvalidInput(_("Choose a type of organisation from the list."), field="kind")
        if designation_pattern not in DESIGNATION_PATTERNS:
            raise InvalidInput(_("Choose how the organisation's projects count."),
                               field="designation_pattern")
        contact_email = (contact_email or "").strip()
        if contact_email:
            contact_email = checked_email(contact_email, "contact_email")
        same_name = select(PartnerOrganisation.id).where(
            PartnerOrganisation.site_id == site.id, PartnerOrganisation.name == name,
            PartnerOrganisation.retired_at.is_(None),
        )
        if partner is not None:
            same_name = same_name.where(PartnerOrganisation.id != partner.id)
        if self.dbsession.scalar(same_name) is not None:
            raise Conflict(_("A partner organisation with this name already exists."),
                           field="name")
        return {"name": name, "kind": kind, "designation_pattern": designation_pattern,
                "contact_email": contact_email}

    def _site(self, partner):
        return self.dbsession.get(Site, partner.site_id)

    @staticmethod
    def _check_current(partner):
        if partner.retired_at is not None:
            raise NotAllowed(_("This partner organisation has been retired."))
