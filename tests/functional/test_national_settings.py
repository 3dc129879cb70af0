"""The operator's national settings (/operator/settings): only the operator, CSRF, every
change audited, and what sites show follows them (no invented fee-free end date)."""
import re
from datetime import date

import pytest
from sqlalchemy import select

from furusato_cms.models import AuditEntry, NationalSettings

from ..factories import NAGANO_CITY, make_site, make_staff, sign_in
from ..registrant_factories import make_registrant
from ..sites_factories import signed_in_operator


@pytest.fixture
def operator(testapp, dbsession, clock, app_settings):
    return signed_in_operator(testapp, dbsession, clock, app_settings)


def test_operator_sets_the_fee_free_end_and_the_period_audited(testapp, dbsession, operator):
    make_site(dbsession, NAGANO_CITY, joined_on=date(2027, 4, 1))
    assert "一定期間無料" in testapp.get("/operator/").text
    assert "/operator/settings" in testapp.get("/operator/").text
    form = testapp.get("/operator/settings").forms["deform"]
    assert form["free_period_end"].value == "" and form["inactivity_days"].value == "730"
    form["free_period_end"] = "2032-03-31"
    form["inactivity_days"] = "1095"
    form.submit("save").follow()
    dbsession.expire_all()
    row = dbsession.get(NationalSettings, 1)
    assert (row.free_period_end, row.inactivity_days) == (date(2032, 3, 31), 1095)
    entry = dbsession.scalars(
        select(AuditEntry).where(AuditEntry.action == "national.settings")).one()
    assert entry.detail["changed"] == {"free_period_end": [None, "2032-03-31"],
                                       "inactivity_days": [730, 1095]}
    assert "2032年3月31日(水) まで無料" in testapp.get("/operator/").text


@pytest.mark.parametrize("value", ["10", "たくさん"])
def test_a_bad_period_re_renders_with_the_message(testapp, dbsession, operator, value):
    form = testapp.get("/operator/settings").forms["deform"]
    form["inactivity_days"] = value
    page = form.submit("save", status=400)
    assert "invalid-feedback" in page.text
    assert page.forms["deform"]["inactivity_days"].value == value
    dbsession.expire_all()
    assert dbsession.get(NationalSettings, 1).inactivity_days == 730


def test_only_the_operator_may_see_or_change_them(testapp, dbsession, clock, app_settings):
    site = make_site(dbsession, NAGANO_CITY)
    testapp.get("/operator/settings", status=302)
    for account in (make_staff(dbsession, site, "site_admin"), make_registrant(dbsession)):
        sign_in(testapp, dbsession, account, clock, app_settings)
        testapp.get("/operator/settings", status=403)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', testapp.get("/").text).group(1)
        testapp.post("/operator/settings", {"csrf_token": csrf, "inactivity_days": "60"},
                     status=403)
    dbsession.expire_all()
    assert dbsession.get(NationalSettings, 1).inactivity_days == 730


def test_posting_without_the_csrf_token_is_refused(testapp, dbsession, operator):
    testapp.post("/operator/settings", {"inactivity_days": "60"}, status=400)
