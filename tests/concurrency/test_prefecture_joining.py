"""A prefecture approved while someone registers with one of its municipalities, on real
concurrent PostgreSQL connections: whichever comes first, the person ends with exactly
one prefecture registration, derived from the municipality's (issue 12, rule 5). The
registration reads the prefecture's row FOR KEY SHARE and the approval locks it FOR
UPDATE, so the second always waits for the first and sees what it did."""
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from furusato_cms.models import Account, Registration, Site
from furusato_cms.services.registration import RegistrationService
from furusato_cms.services.sites import SiteLifecycleService

from ..factories import make_site
from ..premium_factories import GUNMA_PREF, MAEBASHI, NIIGATA_PREF, NAGAOKA
from ..registrant_factories import make_registrant
from ..sites_factories import operator_actor
from .support import POSTGRESQL_ONLY, second_behind_first

pytestmark = POSTGRESQL_ONLY


def committed_world(engine, prefecture_code, municipality_code, email):
    """An applied prefecture, an active municipality in it, a registrant, an operator."""
    with Session(engine) as setup:
        prefecture = make_site(setup, prefecture_code, state="applied", with_intro=False)
        municipality = make_site(setup, municipality_code, with_intro=False)
        person = make_registrant(setup, email)
        _account, operator = operator_actor(setup, f"operator-{prefecture_code}@example.jp")
        setup.commit()
        return prefecture.id, municipality.id, person.id, operator


@pytest.mark.parametrize("first", ["registration", "approval"])
def test_a_registration_and_the_approval_at_once_derive_once(own_database, clock,
                                                             app_settings, first):
    engine = own_database.engine
    codes = {"registration": (GUNMA_PREF, MAEBASHI), "approval": (NIIGATA_PREF, NAGAOKA)}
    prefecture_id, municipality_id, person_id, operator = committed_world(
        engine, *codes[first], f"{first}@example.jp")

    def register(session):
        RegistrationService(session, clock=clock, settings=app_settings).register(
            session.get(Account, person_id), session.get(Site, municipality_id), [1],
            ["tourism"], {})

    def approve(session):
        SiteLifecycleService(session, clock=clock, settings=app_settings).approve(
            operator, session.get(Site, prefecture_id), "admin@pref.example.jp")

    steps = (register, approve) if first == "registration" else (approve, register)
    second_behind_first(engine, *steps, what=steps[1].__name__)

    with Session(engine) as check:
        rows = {r.site_id: r for r in check.scalars(
            select(Registration).where(Registration.account_id == person_id))}
    assert set(rows) == {municipality_id, prefecture_id}
    assert rows[prefecture_id].derived_from_id == rows[municipality_id].id
