"""The demo data shows the product (issue 18 item 10): loading it on a fresh database twice
adds it once, and the screens a newcomer opens first have real content."""
import re

from sqlalchemy import func, select

from furusato_cms.models import (
    ActivitySession,
    Attendance,
    Image,
    Project,
    Registration,
    SupportMeasure,
    SurveyQuestion,
)
from furusato_cms.scripts import demo

from ..conftest import NOW
from ..factories import sign_in


def counts(dbsession) -> dict:
    return {model.__name__: dbsession.scalar(select(func.count()).select_from(model))
            for model in (Project, ActivitySession, Attendance, Image, Registration,
                          SupportMeasure, SurveyQuestion)}


def test_loading_twice_loads_once_and_the_screens_have_content(
        testapp, dbsession, clock, app_settings):
    assert demo.load(dbsession, NOW, app_settings) is True
    first = counts(dbsession)
    assert demo.load(dbsession, NOW, app_settings) is False
    assert counts(dbsession) == first
    assert all(first.values()), first

    sessions = dbsession.scalars(select(ActivitySession)).all()
    assert any(s.starts_at < NOW for s in sessions) and any(s.starts_at > NOW for s in sessions)
    assert any(s.online for s in sessions)
    assert dbsession.scalar(select(func.count()).select_from(Registration).where(
        Registration.tier == "premium")) == 1

    stats = testapp.get("/stats/")
    assert "まだ集計されていません" not in stats.text
    assert re.search(r"\d+\s*人", stats.text)

    project = dbsession.scalar(select(Project).where(Project.title == "りんご収穫のお手伝い"))
    page = testapp.get(f"/s/202011/projects/{project.id}")
    assert "りんご収穫のお手伝い" in page.text
    assert page.text.count("若穂") >= 2
    assert f"/s/202011/images/" in page.text
    assert "ふるさと住民の交通費補助" in testapp.get("/s/202011/support/").text


def test_the_demo_registrant_sees_progress_and_the_premium_person_a_premium_card(
        testapp, dbsession, clock, app_settings):
    demo.load(dbsession, NOW, app_settings)
    from furusato_cms.models import Account
    registrant = dbsession.scalar(select(Account).where(Account.email == "registrant@example.jp"))
    sign_in(testapp, dbsession, registrant, clock, app_settings)
    history = testapp.get("/my/activities")
    assert "りんご収穫のお手伝い" in history.text
    testapp.reset()
    premium = dbsession.scalar(select(Account).where(Account.email == "hanako@example.jp"))
    sign_in(testapp, dbsession, premium, clock, app_settings)
    assert "プレミアム" in testapp.get("/my/card").text


def test_an_older_demo_database_gets_the_showcase_once(dbsession, app_settings, monkeypatch):
    """A database loaded before the showcase existed (sites and accounts only), where the
    registrant had registered with the city by hand: the next load adds the rest."""
    from furusato_cms.devtools import demo_showcase
    from furusato_cms.models import Account, Site
    from furusato_cms.services.registration import RegistrationService

    with monkeypatch.context() as patch:
        patch.setattr(demo_showcase, "load", lambda *args, **kw: False)
        demo.load(dbsession, NOW, app_settings)
    assert counts(dbsession)["Project"] == 0
    registrant = dbsession.scalar(select(Account).where(Account.email == "registrant@example.jp"))
    city = dbsession.scalar(select(Site).where(Site.code == "202011"))
    RegistrationService(dbsession, clock=lambda: NOW, settings=app_settings).register(
        registrant, city, [1], ["tourism"], {})
    assert demo.load(dbsession, NOW, app_settings) is True
    assert counts(dbsession)["Project"] == 5
    assert demo.load(dbsession, NOW, app_settings) is False
