"""Where a person lives decides the at-home flag (居住地での登録).

A registration with the municipality of the verified address, or with the
prefecture that contains it, is "at home": allowed, but never counted as
relationship population. One rule, used at registration and after verification.
"""
from sqlalchemy import and_, or_, select, update

from ..models import Registration, Site


def is_home_site(site, home_code: str | None) -> bool:
    if not home_code:
        return False
    if site.kind == "prefecture":
        return site.prefecture_code == home_code[:2]
    return site.code == home_code


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
