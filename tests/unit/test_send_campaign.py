"""The bulk sender (furusato-send-campaign) against committed data in a database of its
own: batches, a failure in the middle and a resumed run, a dead sender, the console
script, and (PostgreSQL) two senders side by side. Every mail is read back from the
local SMTP catcher: each person gets the campaign exactly once."""
import os
import smtplib
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from furusato_cms.appsettings import AppSettings
from furusato_cms.clock import FixedClock
from furusato_cms.models import OutboxMail, Site, get_session_factory
from furusato_cms.scripts.send_campaign import main, run
from furusato_cms.services.audit import Actor
from furusato_cms.services.bulk_sender import SMTPTransport
from furusato_cms.services.targeting import TargetingService

from ..concurrency.support import needs_postgresql, run_at_once
from ..conftest import HERE, NOW
from ..factories import make_post, make_site
from ..notification_factories import make_person
from ..script_support import script_summary, write_ini

EDITOR = Actor(account_id=None, label="editor")


@pytest.fixture
def database(own_database):
    return own_database


@pytest.fixture
def settings(mail_catcher):
    return AppSettings(session_secret="test-secret", base_url="http://localhost",
                       locale_dir=os.path.join(HERE, "locale"),
                       smtp_host=mail_catcher.smtp_host, smtp_port=mail_catcher.smtp_port)


@pytest.fixture
def factory(database):
    return get_session_factory(database[1])


@pytest.fixture
def catcher(mail_catcher):
    mail_catcher.clear()
    return mail_catcher


def queued_campaign(engine, settings, name, people):
    """A targeted post of a new site sent to its ``people`` new registrants, committed;
    the campaign's id and the addresses."""
    clock = FixedClock(NOW)
    with Session(engine) as setup:
        sites = setup.scalar(select(func.count()).select_from(Site))
        site = make_site(setup, f"20{sites + 100:03d}9")
        addresses = [f"{name}-{i}@example.jp" for i in range(people)]
        for address in addresses:
            make_person(setup, address, site)
        post = make_post(setup, site, name)
        service = TargetingService(setup, clock=clock, settings=settings)
        service.save_target(EDITOR, post)
        campaign_id = service.send(EDITOR, post).id
        setup.commit()
    return campaign_id, addresses


def states(engine, campaign_id) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(
            select(OutboxMail.state, func.count()).where(OutboxMail.campaign_id == campaign_id)
            .group_by(OutboxMail.state)).all())


def attempts(engine, campaign_id) -> dict:
    """How many rows were tried how often: only mails actually tried count a try."""
    with engine.connect() as conn:
        return dict(conn.execute(
            select(OutboxMail.attempts, func.count()).where(OutboxMail.campaign_id == campaign_id)
            .group_by(OutboxMail.attempts)).all())


def received(catcher, addresses) -> Counter:
    wanted = set(addresses)
    return Counter(to for m in catcher.messages() for to in m["envelope_to"] if to in wanted)


class FailingAfter(SMTPTransport):
    """The real SMTP connection, breaking after ``limit`` messages in all."""

    def __init__(self, settings, counter, limit, error):
        super().__init__(settings)
        self.counter, self.limit, self.error = counter, limit, error

    def send(self, message):
        if self.counter["sent"] >= self.limit:
            raise self.error
        super().send(message)
        self.counter["sent"] += 1


def failing(limit, error):
    counter = {"sent": 0}
    return lambda settings: FailingAfter(settings, counter, limit, error)


def test_a_broken_connection_then_a_resumed_run_sends_each_person_once(
        database, factory, settings, catcher):
    campaign_id, addresses = queued_campaign(database[1], settings, "broken", 30)
    clock = FixedClock(NOW)

    first = run(factory, settings, clock, campaign_id=campaign_id, batch_size=5,
                transport_factory=failing(7, smtplib.SMTPServerDisconnected("lost")))

    assert (first["sent"], first["retry"], first["batches"]) == (7, 3, 2)
    assert "SMTPServerDisconnected" in first["error"]
    assert states(database[1], campaign_id) == {"sent": 7, "queued": 23}
    assert attempts(database[1], campaign_id) == {0: 22, 1: 8}
    assert sum(received(catcher, addresses).values()) == 7

    second = run(factory, settings, clock, campaign_id=campaign_id, batch_size=5)

    assert (second["sent"], second["error"], second["needs_review"]) == (23, "", 0)
    assert states(database[1], campaign_id) == {"sent": 30}
    assert received(catcher, addresses) == Counter({address: 1 for address in addresses})
    third = run(factory, settings, clock, campaign_id=campaign_id, batch_size=5)
    assert third["sent"] == 0 and sum(received(catcher, addresses).values()) == 30


class Refusing(SMTPTransport):
    """The real SMTP connection; the server refuses one recipient for good."""

    refused = ""

    def send(self, message):
        if message["To"] == self.refused:
            raise smtplib.SMTPRecipientsRefused({self.refused: (550, b"no such user")})
        super().send(message)


def test_a_recipient_refused_for_good_fails_alone(database, factory, settings, catcher):
    campaign_id, addresses = queued_campaign(database[1], settings, "refused", 6)
    Refusing.refused = addresses[2]
    summary = run(factory, settings, FixedClock(NOW), campaign_id=campaign_id, batch_size=4,
                  transport_factory=Refusing)
    assert (summary["sent"], summary["failed"], summary["error"]) == (5, 1, "")
    assert states(database[1], campaign_id) == {"sent": 5, "failed": 1}
    assert received(catcher, addresses) == Counter(
        {address: 1 for address in addresses if address != addresses[2]})
    with database[1].connect() as conn:
        assert "550" in conn.scalar(select(OutboxMail.last_error).where(
            OutboxMail.campaign_id == campaign_id, OutboxMail.state == "failed"))


def test_each_mail_has_the_post_and_the_one_click_unsubscribe(database, factory, settings,
                                                              catcher):
    campaign_id, addresses = queued_campaign(database[1], settings, "content", 2)
    run(factory, settings, FixedClock(NOW), campaign_id=campaign_id)
    mail = catcher.messages(to=addresses[0])[0]
    headers = dict(mail["headers"])
    assert mail["subject"] == "お知らせ"
    assert headers["List-Unsubscribe"].startswith("<http://localhost/unsubscribe/")
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert headers["List-Unsubscribe"][1:-1] in mail["text"]
    assert "/posts/content" in mail["text"]


def test_a_dead_sender_leaves_its_batch_for_review_and_never_sends_twice(
        database, factory, settings, catcher):
    campaign_id, addresses = queued_campaign(database[1], settings, "dead", 30)

    with pytest.raises(RuntimeError):
        run(factory, settings, FixedClock(NOW), campaign_id=campaign_id, batch_size=5,
            transport_factory=failing(7, RuntimeError("the process was killed")))
    assert states(database[1], campaign_id) == {"sent": 5, "sending": 5, "queued": 20}

    later = FixedClock(NOW + timedelta(minutes=20))
    resumed = run(factory, settings, later, campaign_id=campaign_id, batch_size=5)

    assert (resumed["sent"], resumed["needs_review"]) == (20, 5)
    counts = received(catcher, addresses)
    assert max(counts.values()) == 1 and sum(counts.values()) == 27
    requeued = run(factory, settings, later, campaign_id=campaign_id, requeue_stuck=True,
                   transport_factory=failing(0, smtplib.SMTPServerDisconnected("held")))
    assert requeued["requeued"] == 5
    assert states(database[1], campaign_id) == {"sent": 25, "queued": 5}


def test_the_console_script(database, settings, catcher, tmp_path):
    url, engine = database
    campaign_id, addresses = queued_campaign(engine, settings, "script", 6)
    ini = write_ini(tmp_path / "send.ini", url, secret="test-secret", mail_catcher=settings)

    summary = script_summary("furusato-send-campaign", ini, "--campaign", str(campaign_id),
                             "--batch-size", "4", timeout=120)

    assert (summary["sent"], summary["batches"], summary["error"]) == (6, 2, "")
    assert received(catcher, addresses) == Counter({address: 1 for address in addresses})


def test_requeueing_needs_a_campaign(tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        main([str(tmp_path / "unused.ini"), "--requeue-stuck"])
    assert stopped.value.code == 2 and "--campaign" in capsys.readouterr().err


@needs_postgresql
def test_two_senders_side_by_side_skip_each_others_rows(database, factory, settings,
                                                        catcher):
    campaign_id, addresses = queued_campaign(database[1], settings, "parallel", 40)

    def sender(_session, _n):
        return run(factory, settings, FixedClock(NOW), campaign_id=campaign_id, batch_size=3)

    summaries, errors = run_at_once(database.engine, sender, [1, 2])
    assert errors == []
    assert sum(s["sent"] for s in summaries) == 40
    assert received(catcher, addresses) == Counter({address: 1 for address in addresses})

