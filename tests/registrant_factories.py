"""Test data for registrants (登録者): accounts that sign up themselves."""
from .factories import T0, make_account


def make_registrant(dbsession, email="person@example.jp", *, confirmed=True,
                    name="住民 太郎", locale="ja", **kw):
    """A registrant account with the shared test password (``factories.PASSWORD``);
    its email address is confirmed unless ``confirmed=False``."""
    return make_account(
        dbsession, email, name=name, kind="registrant", locale=locale,
        email_confirmed_at=T0 if confirmed else None, **kw,
    )
