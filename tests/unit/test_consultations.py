"""Consultations (相談): opening, replies from both sides, assignment, closing, attachments,
the audit of staff reads, and the mails that tell the other side."""
import pytest
from sqlalchemy import select

from furusato_cms.models import AuditEntry, Consultation, InboxMessage
from furusato_cms.services.consultations import (
    BODY_MAX,
    OPEN_MAX,
    ConsultationService,
    Upload,
    safe_filename,
)
from furusato_cms.services.errors import InvalidInput, NotAllowed

from ..community_factories import EXE, PDF, PNG, actor_for, make_consultation
from ..factories import MATSUMOTO, NAGANO_CITY, make_site, make_staff
from ..registrant_factories import make_registrant


@pytest.fixture
def site(dbsession):
    return make_site(dbsession, NAGANO_CITY)


@pytest.fixture
def service(dbsession, clock, app_settings):
    return ConsultationService(dbsession, clock=clock, settings=app_settings)


@pytest.fixture
def person(dbsession):
    return make_registrant(dbsession, "soudan@example.jp", name="相談 花子")


@pytest.fixture
def coordinator(dbsession, site):
    return make_staff(dbsession, site, "coordinator", email="coord-c@example.jp",
                      name="調整 次郎")


def audit_actions(dbsession, action):
    return dbsession.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()


def test_a_registrant_opens_a_consultation_and_the_coordinators_are_told(
        service, dbsession, site, person, coordinator, mail_catcher):
    mail_catcher.clear()
    consultation = service.open(person, site, topic="dual_residence", subject="  二地域居住の  住まい ",
                                body="空き家を探しています。\r\nよろしくお願いします。")
    assert consultation.state == "new"
    assert consultation.subject == "二地域居住の 住まい"
    assert [m.body for m in consultation.messages] == ["空き家を探しています。\nよろしくお願いします。"]
    [mail] = mail_catcher.messages(to=coordinator.email)
    assert f"/s/{NAGANO_CITY}/consultations/{consultation.id}" in mail["text"]
    assert "空き家" not in mail["text"] and "相談 花子" not in mail["text"]


def test_opening_a_consultation_needs_no_registration_with_the_site(service, dbsession, person):
    other = make_site(dbsession, MATSUMOTO)
    assert service.open(person, other, topic="other", subject="質問", body="本文").site_id == other.id


@pytest.mark.parametrize("changes, field", [
    ({"body": "   "}, "body"),
    ({"body": "あ" * (BODY_MAX + 1)}, "body"),
    ({"subject": ""}, "subject"),
    ({"subject": "件" * 101}, "subject"),
    ({"topic": "gossip"}, "topic"),
])
def test_bad_input_is_refused_on_its_field(service, site, person, changes, field):
    values = {"topic": "other", "subject": "件名", "body": "本文", **changes}
    with pytest.raises(InvalidInput) as refused:
        service.open(person, site, **values)
    assert refused.value.field == field


def test_staff_accounts_and_inactive_sites_cannot_receive_new_consultations(
        service, dbsession, site, person, coordinator):
    with pytest.raises(NotAllowed):
        service.open(coordinator, site, topic="other", subject="件名", body="本文")
    site.state = "suspended"
    with pytest.raises(NotAllowed):
        service.open(person, site, topic="other", subject="件名", body="本文")


def test_a_person_has_a_limited_number_of_unfinished_consultations_per_site(
        service, dbsession, site, person):
    for _ in range(OPEN_MAX - 1):
        make_consultation(dbsession, site, person)
    make_consultation(dbsession, site, person, state="closed")
    service.open(person, site, topic="other", subject="件名", body="本文")
    with pytest.raises(NotAllowed, match="not closed"):
        service.open(person, site, topic="other", subject="件名", body="本文")


def test_a_staff_reply_starts_the_work_assigns_the_replier_and_tells_the_registrant(
        service, dbsession, site, person, coordinator, mail_catcher):
    consultation = make_consultation(dbsession, site, person)
    mail_catcher.clear()
    service.reply(coordinator, consultation, "お問い合わせありがとうございます。",
                  actor=actor_for(coordinator))
    assert consultation.state == "in_progress"
    assert consultation.assigned_to_id == coordinator.id
    assert consultation.messages[-1].from_staff
    [mail] = mail_catcher.messages(to=person.email)
    assert f"/my/consultations/{consultation.id}" in mail["text"]
    assert "お問い合わせありがとう" not in mail["text"]
    assert "長野市" in mail["subject"] and mail["headers"]
    assert "List-Unsubscribe" in dict(mail["headers"])
    [notice] = dbsession.scalars(select(InboxMessage).where(InboxMessage.account_id == person.id))
    assert (notice.kind, notice.link) == ("consultation_reply",
                                          f"/my/consultations/{consultation.id}")
    assert len(audit_actions(dbsession, "consultation.reply")) == 1


def test_a_registrant_reply_tells_only_the_assigned_coordinator(
        service, dbsession, site, person, coordinator, mail_catcher):
    other = make_staff(dbsession, site, "coordinator", email="coord-other@example.jp")
    consultation = make_consultation(dbsession, site, person, state="in_progress",
                                     assigned_to=coordinator)
    mail_catcher.clear()
    service.reply(person, consultation, "追加の質問です。")
    assert not consultation.messages[-1].from_staff
    assert len(mail_catcher.messages(to=coordinator.email)) == 1
    assert mail_catcher.messages(to=other.email) == []


def test_a_closed_consultation_refuses_replies_from_both_sides(
        service, dbsession, site, person, coordinator):
    consultation = make_consultation(dbsession, site, person)
    service.close(consultation, actor=actor_for(coordinator))
    for author in (person, coordinator):
        with pytest.raises(NotAllowed, match="closed") as refused:
            service.reply(author, consultation, "まだ質問があります", actor=actor_for(author))
        assert refused.value.field == "body"
    with pytest.raises(NotAllowed):
        service.close(consultation)
    assert len(audit_actions(dbsession, "consultation.close")) == 1


def test_only_handlers_of_the_site_reply_or_are_assigned(service, dbsession, site, person,
                                                        coordinator):
    editor = make_staff(dbsession, site, "editor", email="editor-c@example.jp")
    elsewhere = make_staff(dbsession, make_site(dbsession, MATSUMOTO), "coordinator",
                           email="coord-matsumoto@example.jp")
    consultation = make_consultation(dbsession, site, person)
    for outsider in (editor, elsewhere):
        with pytest.raises(NotAllowed):
            service.reply(outsider, consultation, "返信", actor=actor_for(outsider))
        with pytest.raises(InvalidInput):
            service.assign(actor_for(coordinator), consultation, outsider.id)
    admin = make_staff(dbsession, site, "site_admin", email="admin-c@example.jp")
    assert {a.id for a in service.handlers(site)} == {admin.id, coordinator.id}
    service.assign(actor_for(admin), consultation, coordinator.id)
    assert (consultation.assigned_to_id, consultation.state) == (coordinator.id, "in_progress")
    [entry] = audit_actions(dbsession, "consultation.assign")
    assert entry.detail == {"assignee_id": coordinator.id}


def test_every_staff_read_is_written_to_the_audit_log(service, dbsession, site, person,
                                                     coordinator):
    consultation = make_consultation(dbsession, site, person)
    for _ in range(2):
        assert service.open_for_staff(actor_for(coordinator), site, consultation.id) is consultation
    entries = audit_actions(dbsession, "consultation.read")
    assert [(e.actor_id, e.target_id, e.detail["registrant_id"]) for e in entries] == [
        (coordinator.id, str(consultation.id), person.id)] * 2
    other_site = make_site(dbsession, MATSUMOTO)
    assert service.open_for_staff(actor_for(coordinator), other_site, consultation.id) is None
    assert len(audit_actions(dbsession, "consultation.read")) == 2


def test_registrants_see_only_their_own_consultations(service, dbsession, site, person):
    mine = make_consultation(dbsession, site, person)
    someone = make_registrant(dbsession, "someone@example.jp")
    theirs = make_consultation(dbsession, site, someone)
    assert service.mine(person) == [mine]
    assert service.own(person, theirs.id) is None
    assert service.own(person, mine.id) is mine


def test_attachments_are_recognised_by_their_content(service, dbsession, site, person,
                                                     app_settings):
    consultation = service.open(person, site, topic="other", subject="書類", body="添付します",
                                upload=Upload("../../見積書\x00.exe", PDF))
    [attachment] = consultation.messages[0].attachments
    assert (attachment.filename, attachment.media_type, attachment.byte_size) == (
        "見積書.pdf", "application/pdf", len(PDF))
    message = service.reply(person, consultation, "写真です", upload=Upload("photo.png", PNG))
    assert message.attachments[0].media_type == "image/png"
    assert service.attachment_of(consultation, attachment.id) is attachment
    with pytest.raises(InvalidInput, match="PDF, JPEG or PNG") as refused:
        service.reply(person, consultation, "これも", upload=Upload("invoice.pdf", EXE))
    assert refused.value.field == "attachment"
    too_big = PDF + b"0" * app_settings.upload_max_bytes
    with pytest.raises(InvalidInput, match="too large"):
        service.reply(person, consultation, "大きい", upload=Upload("big.pdf", too_big))


def test_the_queue_filters_by_state_and_assignee(service, dbsession, site, person, coordinator):
    new = make_consultation(dbsession, site, person)
    mine = make_consultation(dbsession, site, person, state="in_progress",
                             assigned_to=coordinator)
    closed = make_consultation(dbsession, site, person, state="closed")
    other_site = make_consultation(dbsession, make_site(dbsession, MATSUMOTO), person)

    def ids(view):
        return {c.id for c in service.queue(site, view=view, handler_id=coordinator.id).items}

    assert ids("open") == {new.id, mine.id}
    assert ids("mine") == {mine.id}
    assert ids("closed") == {closed.id}
    assert other_site.id not in ids("all")
    assert service.state_counts(site) == {"new": 1, "in_progress": 1, "closed": 1}
    assert dbsession.get(Consultation, other_site.id).site_id != site.id


@pytest.mark.parametrize("name, expected", [
    ("report.PDF", "report.pdf"),
    ("C:\\Users\\me\\申請書.pdf", "申請書.pdf"),
    ('a"b;c.pdf', "abc.pdf"),
    ("", "attachment.pdf"),
    ("...", "attachment.pdf"),
])
def test_safe_filenames(name, expected):
    assert safe_filename(name, ".pdf") == expected
