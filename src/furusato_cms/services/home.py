"""Where a person lives decides the at-home flag (居住地での登録).

A registration with the person's home municipality, or with the prefecture that
contains it, is "at home": allowed, but never counted as relationship population
(it still gets the site's information). The home is the verified address's
municipality (本人確認) when there is one, else the municipality of the postal code
the person declared (居住地の申告, ``Account.declared_home_code``; only the code is
kept). One rule, used at registration, after verification and when the declaration
changes.
"""
from sqlalchemy import and_, func, or_, select, update

from ..i18n import _
from ..models import IdentityVerification, Registration, Site
from ..postal import municipality_of_postal_code
from .errors import InvalidInput


def is_home_site(site, home_code: str | None) -> bool:
    if not home_code:
        return False
    if site.kind == "prefecture":
        return site.prefecture_code == home_code[:2]
    return site.code == home_code


def home_code_of(dbsession, account) -> str | None:
    """The person's effective home municipality: verified, else declared, else None."""
    verified = dbsession.scalar(
        select(IdentityVerification.home_code).where(
            IdentityVerification.account_id == account.id
        )
    )
    return verified or account.declared_home_code


def declared_municipality(postal_code):
    """The municipality of a declared postal code, or InvalidInput on ``postal_code``."""
    home = municipality_of_postal_code(postal_code)
    if home is None:
        raise InvalidInput(
            _("We could not find this postal code. Write the 7 digits of your address's "
              "postal code, for example 380-0851."), "postal_code")
    return home


def declare_home(dbsession, account, postal_code):
    """Keep the municipality of the postal code the person declares and recompute their
    at-home flags (a verified address still wins). Returns the municipality."""
    home = declared_municipality(postal_code)
    account.declared_home_code = home.code
    dbsession.flush()
    refresh_at_home(dbsession, account.id, home_code_of(dbsession, account))
    return home


def is_home_prefecture(prefecture_code: str, home_code):
    """``is_home_site`` for a prefecture, as an SQL condition on a home-code column
    (false where it is NULL: not verified)."""
    return and_(home_code.is_not(None), func.substr(home_code, 1, 2) == prefecture_code)


def refresh_at_home(dbsession, account_id: int, home_code: str | None):
    """Recompute every registration's at-home flag for one person, in one statement."""
    if home_code:
        home_sites = select(Site.id).where(
            or_(
                Site.code == home_code,
                and_(Site.kind == "prefecture", Site.prefecture_code == home_code[:2]),
            )
        )
        at_home = Registration.site_id.in_(home_sites)
    else:
        at_home = False
    dbsession.execute(
        update(Registration)
        .where(Registration.account_id == account_id)
        .values(at_home=at_home)
        .execution_options(synchronize_session=False)
    )
