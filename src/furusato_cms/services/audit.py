"""The audit log (監査ログ): every staff action, and every staff read of personal data."""
from dataclasses import dataclass

from ..models import AuditEntry


@dataclass(frozen=True)
class Actor:
    """Who acts, as services see it: no request, just the facts the log needs."""

    account_id: int | None
    label: str
    client_addr: str = ""

    @classmethod
    def system(cls, label="system"):
        return cls(account_id=None, label=label)


class AuditLog:
    def __init__(self, dbsession, clock):
        self.dbsession = dbsession
        self.clock = clock

    def record(self, actor: Actor, action: str, *, site_id=None, target=None, **detail):
        target_type, target_id = _describe(target)
        entry = AuditEntry(
            at=self.clock(),
            actor_id=actor.account_id,
            actor_label=actor.label,
            action=action,
            site_id=site_id,
            target_type=target_type,
            target_id=target_id,
            client_addr=actor.client_addr,
            detail=detail,
        )
        self.dbsession.add(entry)
        return entry


def _describe(target):
    if target is None:
        return "", ""
    if isinstance(target, tuple):
        return target[0], str(target[1])
    return type(target).__name__, str(getattr(target, "id", ""))
