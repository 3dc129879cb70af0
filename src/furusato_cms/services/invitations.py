"""Invitations to a site's staff (職員招待): a one-time link instead of a mailed password.

The token is shown once to the person who invites (or sent by mail in a later
part); only its SHA-256 is stored. Accepting it either creates the person's account
(a new person sets a name and password) or adds the membership to the account that
already has the invited email address (that person proves it by signing in).
"""
import secrets
from datetime import timedelta

from sqlalchemy import select, update

from ..i18n import _
from ..models import Account, Invitation, StaffMembership
from ..models.staff import STAFF_ROLES
from .audit import AuditLog
from .authentication import account_actor, hash_token
from .errors import Conflict, InvalidInput, NotAllowed
from .passwords import check_new_password, hash_password

DISPLAY_NAME_MAX = 100


class InvitationService:
    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings

    def invite(self, actor, site, email, role, *, is_reviewer=False):
        """Create an invitation and return ``(invitation, token)``; older open ones for the
        same person and site stop working."""
        if role not in STAFF_ROLES:
            raise InvalidInput(_("Unknown staff role."), field="role")
        email = email.strip().lower()
        now = self.clock()
        self.dbsession.execute(
            update(Invitation)
            .where(
                Invitation.site_id == site.id,
                Invitation.email == email,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )
        token = secrets.token_urlsafe(32)
        invitation = Invitation(
            token_hash=hash_token(token),
            email=email,
            site_id=site.id,
            role=role,
            is_reviewer=is_reviewer,
            invited_by_id=actor.account_id,
            created_at=now,
            expires_at=now + timedelta(days=self.settings.invitation_days),
        )
        self.dbsession.add(invitation)
        self.dbsession.flush()
        AuditLog(self.dbsession, self.clock).record(
            actor, "staff.invite", site_id=site.id, target=invitation, role=role
        )
        return invitation, token

    def find_valid(self, token):
        """The open invitation for a token, or None when unknown, used, revoked or expired."""
        if not token:
            return None
        invitation = self.dbsession.scalar(
            select(Invitation).where(Invitation.token_hash == hash_token(token))
        )
        if (
            invitation is None
            or invitation.accepted_at is not None
            or invitation.revoked_at is not None
            or invitation.expires_at <= self.clock()
        ):
            return None
        return invitation

    def existing_account(self, invitation):
        """The account that already uses the invited address, if any."""
        return self.dbsession.scalar(select(Account).where(Account.email == invitation.email))

    def accept(self, invitation, *, client_addr="", account=None, display_name=None,
               password=None):
        """Join the invited site's staff; returns ``(account, membership)``.

        Without ``account`` a new staff account is made from ``display_name`` and
        ``password``; with it (already signed in by the caller as the invited address)
        that account is reused. The invitation is claimed by a conditional UPDATE, so
        two tabs submitting at once cannot both use it.
        """
        if account is None:
            account = self._new_account(invitation, display_name, password)
        elif account.email != invitation.email:
            raise NotAllowed(_("This invitation is for another email address."))
        if self.dbsession.scalar(
            select(StaffMembership.id).where(
                StaffMembership.site_id == invitation.site_id,
                StaffMembership.account_id == account.id,
            )
        ):
            raise Conflict(_("You are already on the staff of this site."))
        now = self.clock()
        claimed = self.dbsession.execute(
            update(Invitation)
            .where(
                Invitation.id == invitation.id,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > now,
            )
            .values(accepted_at=now)
        ).rowcount
        if claimed != 1:
            raise Conflict(_("This invitation has already been used or has expired."))
        self.dbsession.refresh(invitation, ["accepted_at"])
        membership = StaffMembership(
            site_id=invitation.site_id, account_id=account.id, role=invitation.role,
            is_reviewer=invitation.is_reviewer, partner_id=invitation.partner_id, created_at=now,
        )
        self.dbsession.add(membership)
        self.dbsession.flush()
        AuditLog(self.dbsession, self.clock).record(
            account_actor(account, client_addr), "staff.invitation_accept",
            site_id=invitation.site_id, target=membership,
            role=invitation.role, invitation_id=invitation.id,
        )
        return account, membership

    def _new_account(self, invitation, display_name, password):
        if self.existing_account(invitation) is not None:
            raise Conflict(
                _("An account with this email address already exists. Sign in with it to accept.")
            )
        display_name = (display_name or "").strip()
        if not display_name or len(display_name) > DISPLAY_NAME_MAX:
            raise InvalidInput(
                _("Enter a name of up to ${max} characters.", mapping={"max": DISPLAY_NAME_MAX}),
                field="display_name",
            )
        check_new_password(password, email=invitation.email, field="password")
        account = Account(
            email=invitation.email, display_name=display_name, kind="staff",
            password_hash=hash_password(password), created_at=self.clock(),
        )
        self.dbsession.add(account)
        self.dbsession.flush()
        return account


def invitation_path(token: str) -> str:
    """Where the invitation link points (the sign-in area serves it)."""
    return f"/invitation/{token}"
