"""Where a person lives decides the at-home flag (居住地での登録).

A registration with the municipality of the verified address, or with the
prefecture that contains it, is "at home": allowed, but never counted as
relationship population. One rule, used at registration and after verification.
"""
from sqlalchemy import and_, func, or_, select, update

from ..models import Registration, Site


def is_home_site(site, home_code: str | None) -> bool:
    if not home_code:
        return False
    if site.kind == "prefecture":
        return site.prefecture_code == home_code[:2]
    return site.code == home_code


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
