"""Test helpers for the site lifecycle and staff screens."""
from furusato_cms.services.audit import Actor

from .factories import make_account, make_staff, sign_in

JOIN_VALUES = {
    "code": "202029",
    "name": "松本市",
    "name_kana": "まつもとし",
    "contact_name": "担当 太郎",
    "contact_department": "企画政策課",
    "contact_email": "kikaku@city.matsumoto.example.jp",
    "contact_phone": "0263-00-0000",
}


def join_values(**overrides) -> dict:
    return {**JOIN_VALUES, **overrides}


def actor_for(account) -> Actor:
    return Actor(account_id=account.id, label=account.email, client_addr="127.0.0.1")


def operator_actor(dbsession, email="operator@soumu.example.jp"):
    account = make_account(dbsession, email, name="総務 太郎", is_operator=True)
    return account, actor_for(account)


def signed_in_operator(testapp, dbsession, clock, app_settings):
    account = make_account(dbsession, "operator@soumu.example.jp", name="総務 太郎",
                           is_operator=True)
    sign_in(testapp, dbsession, account, clock, app_settings)
    return account


def signed_in_staff(testapp, dbsession, clock, app_settings, site, role, **kw):
    account = make_staff(dbsession, site, role, **kw)
    sign_in(testapp, dbsession, account, clock, app_settings)
    return account


def form_with_action(page, suffix):
    """The form on a page whose action ends with ``suffix``."""
    return next(f for f in page.forms.values() if (f.action or "").endswith(suffix))
