"""Sign-in, the TOTP step and sign-out through the browser-facing pages."""
import re

from furusato_cms.models import AuditEntry, AuthSession

from ..auth_factories import make_totp_account, submit_code, submit_signin, totp_code
from ..factories import PASSWORD, make_account


def test_signin_success_sets_a_new_session_and_goes_to_the_account(testapp, dbsession, clock):
    account = make_account(dbsession)
    response = submit_signin(testapp, "Staff@Example.jp ")
    assert response.status_int == 303
    assert response.location == "http://localhost/account"
    cookie = response.headers.getall("Set-Cookie")
    auth = next(c for c in cookie if c.startswith("furusato_auth="))
    assert "HttpOnly" in auth and "SameSite=Lax" in auth and "Path=/" in auth
    page = response.follow()
    assert "あなたのアカウント" in page.text and account.email in page.text
    dbsession.expire_all()
    assert account.last_signin_at == clock()
