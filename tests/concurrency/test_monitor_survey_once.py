"""One person submits a monitor survey many times at the same moment, on real concurrent
PostgreSQL connections with committed data: exactly one response is stored, every other
submission is told it was already answered, and nothing fails otherwise."""
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from furusato_cms.appsettings import AppSettings
from furusato_cms.clock import FixedClock
from furusato_cms.models import (
    Account,
    MonitorChoice,
    MonitorResponse,
    MonitorSurvey,
)
from furusato_cms.services.errors import Conflict
from furusato_cms.services.monitor_surveys import MonitorSurveyService

from ..community_factories import make_member, make_monitor_survey
from ..conftest import NOW
from ..factories import make_site
from .support import POSTGRESQL_ONLY, run_at_once

pytestmark = POSTGRESQL_ONLY

SUBMISSIONS = 30
SETTINGS = AppSettings(session_secret="test-secret", base_url="http://localhost")


@pytest.fixture
def engine(own_database):
    return own_database.engine


def committed_world(engine):
    """An open survey of one question and one registrant in its target group, committed."""
    with Session(engine) as setup:
        site = make_site(setup)
        survey = make_monitor_survey(setup, site)
        person = make_member(setup, site, "eager@example.jp")
        ids = survey.id, survey.questions[0].id, person.id
        setup.commit()
    return ids


def submit_at_once(engine, survey_id, question_id, account_id, times):
    """``times`` threads released together, each submitting in its own transaction."""
    def submit(session, choice):
        service = MonitorSurveyService(session, clock=FixedClock(NOW), settings=SETTINGS)
        try:
            service.submit(session.get(Account, account_id),
                           session.get(MonitorSurvey, survey_id),
                           {f"q{question_id}": choice})
            session.commit()
            return "stored"
        except Conflict:
            session.rollback()
            return "already"

    return run_at_once(engine, submit, [("c1", "c2")[n % 2] for n in range(times)])


def test_simultaneous_submissions_of_one_person_leave_one_response(engine):
    survey_id, question_id, account_id = committed_world(engine)
    outcomes, errors = submit_at_once(engine, survey_id, question_id, account_id, SUBMISSIONS)
    assert errors == []
    assert sorted(outcomes) == ["already"] * (SUBMISSIONS - 1) + ["stored"]
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(MonitorResponse)
                                 .where(MonitorResponse.survey_id == survey_id)) == 1
        assert connection.scalar(select(func.count()).select_from(MonitorChoice)
                                 .where(MonitorChoice.question_id == question_id)) == 1
