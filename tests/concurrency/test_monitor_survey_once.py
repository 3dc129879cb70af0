"""One person submits a monitor survey many times at the same moment, on real concurrent
PostgreSQL connections with committed data: exactly one response is stored, every other
submission is told it was already answered, and nothing fails otherwise."""
import threading

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
    get_engine,
)
from furusato_cms.services.errors import Conflict
from furusato_cms.services.monitor_surveys import MonitorSurveyService

from ..community_factories import make_member, make_monitor_survey
from ..conftest import NOW
from ..dbsetup import drop_database, fresh_database_url, is_postgresql, migrate
from ..factories import make_site

pytestmark = [
    pytest.mark.postgresql_only,
    pytest.mark.skipif(not is_postgresql(), reason="needs concurrent PostgreSQL connections"),
]

POOL_SIZE = 20
SUBMISSIONS = 30
SETTINGS = AppSettings(session_secret="test-secret", base_url="http://localhost")


@pytest.fixture(scope="module")
def engine(worker_id_name, tmp_path_factory):
    url = fresh_database_url(worker_id_name + "_survey_once", tmp_path_factory.mktemp("conc"))
    migrate(url)
    engine = get_engine({
        "furusato.db_url": url, "sqlalchemy.pool_size": str(POOL_SIZE),
        "sqlalchemy.max_overflow": "0", "sqlalchemy.pool_timeout": "120",
    })
    yield engine
    engine.dispose()
    drop_database(url)


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
    barrier = threading.Barrier(times)
    outcomes, errors = [], []

    def submit(choice):
        try:
            barrier.wait(timeout=30)
            with Session(engine) as session:
                service = MonitorSurveyService(session, clock=FixedClock(NOW), settings=SETTINGS)
                try:
                    service.submit(session.get(Account, account_id),
                                   session.get(MonitorSurvey, survey_id),
                                   {f"q{question_id}": choice})
                    session.commit()
                    outcomes.append("stored")
                except Conflict:
                    session.rollback()
                    outcomes.append("already")
        except Exception as exc:  # noqa: BLE001 - every failure is reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=submit, args=(("c1", "c2")[n % 2],))
               for n in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes, errors


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
