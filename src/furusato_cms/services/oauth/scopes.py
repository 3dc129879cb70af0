"""Every OAuth scope (スコープ) of the open API, in one place.

Registrant scopes are granted by a person on the consent screen (authorization code +
PKCE); site scopes are held by a municipality's own server (client credentials) and act
for that municipality's site only. ``title`` and ``description`` are English msgids; the
plain-Japanese text the consent screen shows is in ``locale/ja/oauth.po`` (a test checks
that each has one, and that openapi.yaml lists exactly these scopes).
"""
from dataclasses import dataclass

from ...i18n import _

REGISTRANT = "registrant"
SITE = "site"


@dataclass(frozen=True)
class Scope:
    name: str
    audience: str
    title: object
    description: object

    @property
    def permission(self) -> str:
        """The permission an API view names to need this scope (``Permissions.API_*``)."""
        return f"api:scope:{self.name}"


SCOPES = {scope.name: scope for scope in (
    Scope("profile", REGISTRANT, _("Your profile"),
          _("See your name, email address and whether your identity is verified.")),
    Scope("registrations", REGISTRANT, _("Your registrations"),
          _("See the local governments you are registered with, register with a new one "
            "(with your survey answers) and leave one.")),
    Scope("card", REGISTRANT, _("Your registration card"),
          _("Show your registration card (the signed statements facilities check).")),
    Scope("activities", REGISTRANT, _("Your activities"),
          _("See your activity history and your progress toward premium registration, "
            "apply for or cancel a session, and check in at a venue.")),
    Scope("inbox", REGISTRANT, _("Your messages"),
          _("Read the messages local governments sent you and mark them read.")),
    Scope("site.registrations.read", SITE, _("The site's registrations"),
          _("Read the people registered with this local government (only what each "
            "person agreed to share with it).")),
    Scope("site.attendance.read", SITE, _("The site's attendance"),
          _("Read attendance at this local government's activities.")),
    Scope("site.attendance.write", SITE, _("Record attendance"),
          _("Record attendance this local government recorded in its own system.")),
    Scope("site.applications.read", SITE, _("The site's applications"),
          _("Read applications for this local government's sessions and support measures.")),
)}

REGISTRANT_SCOPES = frozenset(n for n, s in SCOPES.items() if s.audience == REGISTRANT)
SITE_SCOPES = frozenset(n for n, s in SCOPES.items() if s.audience == SITE)


def scope_list(scope: str | None) -> list:
    """The scope names of a space-separated OAuth scope string, in the order of SCOPES,
    each once; unknown names are kept out."""
    wanted = set((scope or "").split())
    return [name for name in SCOPES if name in wanted]


def scope_string(names) -> str:
    return " ".join(scope_list(" ".join(names)))


def scope_of_permission(permission) -> str | None:
    """The scope a permission stands for (``api:scope:<name>``), or None."""
    name = str(permission or "").removeprefix("api:scope:")
    return name if name in SCOPES and str(permission).startswith("api:scope:") else None
