"""CSRF tokens (CSRF対策) bound to the browser's sign-in when it has one.

A signed-in browser's token is an HMAC of its sign-in cookie under a key derived from
the session secret: it changes with every sign-in and sign-out, an attacker's page can
neither read nor compute it, and checking it needs no session at all. Before, every
signed-in page with a form (the layout's sign-out button is one) started or re-signed a
cookie session only to keep a random token in it, and every POST decoded that cookie to
find it again (issue 16). A browser without a sign-in cookie (the sign-in and join forms)
keeps the session-held random token, as Pyramid's ``SessionCSRFStoragePolicy`` does,
and that token is still taken from it once it has signed in.
"""
import hashlib
import hmac

from pyramid.csrf import SessionCSRFStoragePolicy
from pyramid.interfaces import ICSRFStoragePolicy
from zope.interface import implementer

from .security import AUTH_COOKIE
from .templating import SESSION_COOKIE

KEY_LABEL = b"furusato-cms csrf token v1\0"


@implementer(ICSRFStoragePolicy)
class SignInBoundCSRFStoragePolicy:
    def __init__(self, secret: str):
        self._key = hmac.new(secret.encode("utf-8"), KEY_LABEL, hashlib.sha256).digest()
        self._without_sign_in = SessionCSRFStoragePolicy()

    def _bound(self, request) -> str | None:
        sign_in = request.cookies.get(AUTH_COOKIE)
        if not sign_in:
            return None
        return hmac.new(self._key, sign_in.encode("utf-8"), hashlib.sha256).hexdigest()

    def new_csrf_token(self, request) -> str:
        """A signed-in browser's token changes only with its sign-in."""
        bound = self._bound(request)
        return bound if bound is not None else self._without_sign_in.new_csrf_token(request)

    def get_csrf_token(self, request) -> str:
        bound = self._bound(request)
        return bound if bound is not None else self._without_sign_in.get_csrf_token(request)

    def check_csrf_token(self, request, supplied_token) -> bool:
        """The bound token, or the one the browser's cookie session holds: a form opened
        before signing in (a sign-in tab left open) still carries that one, and it is as
        much this browser's secret."""
        if not isinstance(supplied_token, str):
            return False
        bound = self._bound(request)
        if bound is None:
            return self._without_sign_in.check_csrf_token(request, supplied_token)
        if hmac.compare_digest(bound.encode("ascii"),
                               supplied_token.encode("utf-8", "backslashreplace")):
            return True
        return (SESSION_COOKIE in request.cookies
                and self._without_sign_in.check_csrf_token(request, supplied_token))


def includeme(config):
    config.set_csrf_storage_policy(
        SignInBoundCSRFStoragePolicy(config.registry["app_settings"].session_secret))
