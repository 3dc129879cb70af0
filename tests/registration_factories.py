"""Test data for basic registration: a verified identity whose address decides home."""
from datetime import date

from furusato_cms.models import IdentityVerification

from .factories import T0


def make_verification(dbsession, account, home_code, *, name="住民 太郎", **kw):
    """A My Number Card verification of ``account`` living in ``home_code``."""
    verification = IdentityVerification(
        account_id=account.id, issuer="https://idp.example.jp", subject=f"sub-{account.id}",
        name=name, address=kw.pop("address", "長野県長野市大字長野"),
        postal_code=kw.pop("postal_code", "3808512"), home_code=home_code,
        birthdate=kw.pop("birthdate", date(1990, 4, 1)), verified_at=kw.pop("verified_at", T0),
        **kw,
    )
    dbsession.add(verification)
    dbsession.flush()
    return verification
