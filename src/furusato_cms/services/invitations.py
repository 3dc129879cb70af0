"""Invitations to a site's staff (職員招待): a one-time link instead of a mailed password.

The token is shown once to the person who invites (or sent by mail in a later
part); only its SHA-256 is stored. Accepting lives with the sign-in rules.
"""
import secrets
from datetime import timedelta

from sqlalchemy import select, update

from ..i18n import _
from ..models import Invitation
from ..models.staff import STAFF_ROLES
from .audit import AuditLog
from .authentication import hash_token
from .errors import InvalidInput


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


def invitation_path(token: str) -> str:
    """Where the invitation link points (the sign-in area serves it)."""
    return f"/invitation/{token}"
