"""Sign-in sessions kept in the database (ASVS V7): random tokens, hashed at rest,
idle and absolute time-outs, revocable one by one or all at once."""
import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select, update

from ..models import AuthSession


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class SessionService:
    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings

    def start(self, account, client_addr="", second_factor_done=False):
        """Open a new session and return its cookie token (shown once, stored hashed)."""
        now = self.clock()
        token = secrets.token_urlsafe(32)
        session = AuthSession(
            token_hash=hash_token(token),
            account_id=account.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=self.settings.session_max_hours),
            second_factor_at=now if second_factor_done else None,
            client_addr=client_addr or "",
        )
        self.dbsession.add(session)
        self.dbsession.flush()
        return token, session

    def find(self, token):
        """The live session for a cookie token, touched; None when unknown, revoked or timed out."""
        if not token:
            return None
        now = self.clock()
        session = self.dbsession.scalar(
            select(AuthSession).where(AuthSession.token_hash == hash_token(token))
        )
        if session is None or session.revoked_at is not None:
            return None
        idle_limit = session.last_seen_at + timedelta(minutes=self.settings.session_idle_minutes)
        if now >= session.expires_at or now >= idle_limit:
            return None
        if (now - session.last_seen_at) > timedelta(minutes=1):
            session.last_seen_at = now
        return session

    def revoke(self, session):
        if session.revoked_at is None:
            session.revoked_at = self.clock()

    def revoke_all(self, account_id):
        """Sign out everywhere."""
        self.dbsession.execute(
            update(AuthSession)
            .where(AuthSession.account_id == account_id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=self.clock())
        )
