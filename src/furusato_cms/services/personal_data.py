"""The person's own data as a download (自分のデータの持ち出し, /my/data.json): everything the
platform holds about one account, one query per table, without the columns that would help
an attacker (password and TOTP hashes, token hashes) or the bytes of uploaded files."""
from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import defer

from ..models import (
    ActivitySession,
    Attendance,
    AuditEntry,
    AuthSession,
    Consultation,
    ConsultationAttachment,
    ConsultationMessage,
    ContentItem,
    GuardianConsent,
    IdentityVerification,
    InboxMessage,
    MonitorQuestion,
    MonitorResponse,
    MonitorSurvey,
    NotificationPreference,
    PremiumApplication,
    RegistrantInterest,
    Registration,
    RegistrationEvent,
    RoomPost,
    RoomReport,
    RoomThread,
    SessionApplication,
    Site,
    SiteFollow,
    StayDeclaration,
    StayDocument,
    StayRecord,
    SupportApplication,
    SupportReceipt,
    SurveyAnswer,
    SurveyQuestion,
    Unsubscribe,
)

SECRET_COLUMNS = frozenset({"password_hash", "totp_secret", "totp_last_step", "token_hash"})
"""Columns never shown, not even to the person: they would help an attacker."""
FILE_BYTES = ("data",)
"""The content of an uploaded file: the export lists files, it does not carry them."""


class PersonalDataExport:
    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings

    def export(self, account) -> dict:
        """Everything held about ``account``, as plain JSON-ready data (one query per table)."""
        verification = self.dbsession.scalar(
            select(IdentityVerification).where(IdentityVerification.account_id == account.id)
        )
        consent = self.dbsession.scalar(
            select(GuardianConsent)
            .join(IdentityVerification,
                  IdentityVerification.id == GuardianConsent.verification_id)
            .where(IdentityVerification.account_id == account.id)
        )
        registrations = self.dbsession.execute(
            select(Registration, Site.code, Site.name)
            .join(Site, Site.id == Registration.site_id)
            .where(Registration.account_id == account.id)
            .order_by(Registration.id)
        ).all()
        registration_ids = [row.Registration.id for row in registrations]
        return {
            "account": _columns(account),
            "identity_verification": _columns(verification) if verification else None,
            "guardian_consent": _columns(consent) if consent else None,
            "registrations": self._registrations_export(registrations, registration_ids),
            "sign_in_sessions": [
                _columns(row)
                for row in self.dbsession.scalars(
                    select(AuthSession).where(AuthSession.account_id == account.id)
                    .order_by(AuthSession.id)
                )
            ],
            "audit_entries": [
                _columns(entry)
                for entry in self.dbsession.scalars(self._audit_about(account, registration_ids))
            ],
            **self._activities_export(account),
            **self._premium_export(account),
            "support_applications": self._support_export(account),
            "consultations": self._consultations_export(account),
            "community_room": self._room_export(account),
            "monitor_survey_responses": self._monitor_export(account),
            **self._notifications_export(account),
        }

    def _rows(self, statement) -> list:
        return self.dbsession.execute(statement).all()

    def _activities_export(self, account) -> dict:
        """Applications to sessions and attendance, each with its project and date."""
        def with_session(row):
            return {**_columns(row[0]), "project_title": row.title,
                    "session_starts_at": _plain(row.starts_at)}

        def of_sessions(model):
            return (
                select(model, ContentItem.title, ActivitySession.starts_at)
                .join(ActivitySession, ActivitySession.id == model.session_id)
                .join(ContentItem, ContentItem.id == ActivitySession.project_id)
                .where(model.account_id == account.id)
                .order_by(model.id)
            )

        return {
            "session_applications": [with_session(row)
                                     for row in self._rows(of_sessions(SessionApplication))],
            "attendances": [with_session(row) for row in self._rows(of_sessions(Attendance))],
        }

    def _premium_export(self, account) -> dict:
        """Premium applications, stay days and stay declarations with their documents
        (name, type and size of each file; never its content)."""
        declarations = select(StayDeclaration.id).where(StayDeclaration.account_id == account.id)
        documents = _grouped(self.dbsession.scalars(
            select(StayDocument).options(defer(StayDocument.data))
            .where(StayDocument.declaration_id.in_(declarations)).order_by(StayDocument.id)
        ), "declaration_id", without=FILE_BYTES)
        return {
            "premium_applications": self._all(PremiumApplication, account.id),
            "stay_records": self._all(StayRecord, account.id),
            "stay_declarations": [
                {**_columns(declaration), "documents": documents.get(declaration.id, [])}
                for declaration in self.dbsession.scalars(
                    select(StayDeclaration).where(StayDeclaration.account_id == account.id)
                    .order_by(StayDeclaration.id)
                )
            ],
        }

    def _support_export(self, account) -> list:
        """Support applications with the measure's title and the receipts' metadata."""
        applications = select(SupportApplication.id).where(
            SupportApplication.account_id == account.id
        )
        receipts = _grouped(self.dbsession.scalars(
            select(SupportReceipt).options(defer(SupportReceipt.data))
            .where(SupportReceipt.application_id.in_(applications)).order_by(SupportReceipt.id)
        ), "application_id", without=FILE_BYTES)
        return [
            {**_columns(application), "measure_title": title,
             "receipts": receipts.get(application.id, [])}
            for application, title in self._rows(
                select(SupportApplication, ContentItem.title)
                .join(ContentItem, ContentItem.id == SupportApplication.measure_id)
                .where(SupportApplication.account_id == account.id)
                .order_by(SupportApplication.id)
            )
        ]

    def _consultations_export(self, account) -> list:
        """Consultation threads with every message of both sides and the attachments'
        metadata."""
        consultations = select(Consultation.id).where(Consultation.registrant_id == account.id)
        messages = select(ConsultationMessage.id).where(
            ConsultationMessage.consultation_id.in_(consultations)
        )
        attachments = _grouped(self.dbsession.scalars(
            select(ConsultationAttachment).options(defer(ConsultationAttachment.data))
            .where(ConsultationAttachment.message_id.in_(messages))
            .order_by(ConsultationAttachment.id)
        ), "message_id", without=FILE_BYTES)
        thread = {}
        for message in self.dbsession.scalars(
            select(ConsultationMessage).where(ConsultationMessage.id.in_(messages))
            .order_by(ConsultationMessage.id)
        ):
            thread.setdefault(message.consultation_id, []).append(
                {**_columns(message), "attachments": attachments.get(message.id, [])}
            )
        return [
            {**_columns(consultation), "messages": thread.get(consultation.id, [])}
            for consultation in self.dbsession.scalars(
                select(Consultation).where(Consultation.registrant_id == account.id)
                .order_by(Consultation.id)
            )
        ]

    def _room_export(self, account) -> dict:
        """What the person wrote in community rooms: threads opened, posts, reports."""
        return {
            "threads": [
                _columns(thread) for thread in self.dbsession.scalars(
                    select(RoomThread).where(RoomThread.author_id == account.id)
                    .order_by(RoomThread.id)
                )
            ],
            "posts": [
                {**_columns(post), "thread_title": title}
                for post, title in self._rows(
                    select(RoomPost, RoomThread.title)
                    .join(RoomThread, RoomThread.id == RoomPost.thread_id)
                    .where(RoomPost.author_id == account.id).order_by(RoomPost.id)
                )
            ],
            "reports": [
                _columns(report) for report in self.dbsession.scalars(
                    select(RoomReport).where(RoomReport.reporter_id == account.id)
                    .order_by(RoomReport.id)
                )
            ],
        }

    def _monitor_export(self, account) -> list:
        """Monitor survey responses, each answer beside its question's wording."""
        surveys = select(MonitorResponse.survey_id).where(MonitorResponse.account_id == account.id)
        questions = {
            str(question.id): question
            for question in self.dbsession.scalars(
                select(MonitorQuestion).where(MonitorQuestion.survey_id.in_(surveys))
            )
        }
        return [
            {
                **_columns(response),
                "survey_title": title,
                "answers": [
                    {"question": questions[key].label, "question_kind": questions[key].kind,
                     "value": value}
                    for key, value in (response.answers or {}).items() if key in questions
                ],
            }
            for response, title in self._rows(
                select(MonitorResponse, MonitorSurvey.title)
                .join(MonitorSurvey, MonitorSurvey.id == MonitorResponse.survey_id)
                .where(MonitorResponse.account_id == account.id).order_by(MonitorResponse.id)
            )
        ]

    def _notifications_export(self, account) -> dict:
        """Interests, followed sites, notification settings, unsubscribes and the inbox."""
        return {
            "interests": list(self.dbsession.scalars(
                select(RegistrantInterest.interest)
                .where(RegistrantInterest.account_id == account.id)
                .order_by(RegistrantInterest.interest)
            )),
            "site_follows": [
                {"site": {"code": code, "name": name}, "created_at": _plain(created_at)}
                for created_at, code, name in self._rows(
                    select(SiteFollow.created_at, Site.code, Site.name)
                    .join(Site, Site.id == SiteFollow.site_id)
                    .where(SiteFollow.account_id == account.id).order_by(Site.code)
                )
            ],
            "notification_preferences": self._all(NotificationPreference, account.id),
            "unsubscribes": self._all(Unsubscribe, account.id),
            "inbox_messages": self._all(InboxMessage, account.id),
        }

    def _all(self, model, account_id) -> list:
        """Every row of ``model`` whose ``account_id`` is the person's, in key order."""
        return [
            _columns(row) for row in self.dbsession.scalars(
                select(model).where(model.account_id == account_id)
                .order_by(*model.__mapper__.primary_key)
            )
        ]

    def _registrations_export(self, rows, registration_ids) -> list:
        events = self.dbsession.scalars(
            select(RegistrationEvent)
            .where(RegistrationEvent.registration_id.in_(registration_ids))
            .order_by(RegistrationEvent.id)
        ).all()
        answers = self.dbsession.execute(
            select(SurveyAnswer, SurveyQuestion)
            .join(SurveyQuestion, SurveyQuestion.id == SurveyAnswer.question_id)
            .where(SurveyAnswer.registration_id.in_(registration_ids))
            .order_by(SurveyQuestion.position, SurveyQuestion.id)
        ).all()
        exported = []
        for registration, site_code, site_name in rows:
            exported.append({
                **_columns(registration),
                "site": {"code": site_code, "name": site_name},
                "events": [_columns(e) for e in events if e.registration_id == registration.id],
                "survey_answers": [
                    _answer(answer, question)
                    for answer, question in answers
                    if answer.registration_id == registration.id
                ],
            })
        return exported

    @staticmethod
    def _audit_about(account, registration_ids):
        """Entries made by the person, or about their account or registrations."""
        return (
            select(AuditEntry)
            .where(or_(
                AuditEntry.actor_id == account.id,
                (AuditEntry.target_type == "Account") & (AuditEntry.target_id == str(account.id)),
                (AuditEntry.target_type == "Registration")
                & AuditEntry.target_id.in_([str(i) for i in registration_ids]),
            ))
            .order_by(AuditEntry.id)
        )


def _plain(value):
    return value.isoformat() if isinstance(value, (datetime, date)) else value


def _columns(obj, without=()) -> dict:
    return {
        attr.key: _plain(getattr(obj, attr.key))
        for attr in obj.__mapper__.column_attrs
        if attr.key not in SECRET_COLUMNS and attr.key not in without
    }


def _grouped(rows, key, *, without=()) -> dict:
    """Rows as exported dicts, grouped by the value of their column ``key``."""
    groups = {}
    for row in rows:
        groups.setdefault(getattr(row, key), []).append(_columns(row, without))
    return groups


def _answer(answer, question) -> dict:
    """An answer with its question's wording and the labels of the chosen options."""
    labels = {choice.get("key"): choice.get("label") for choice in question.choices or []}
    value = answer.value or {}
    chosen = value.get("choices") or ([value["choice"]] if "choice" in value else [])
    return {
        "question": question.label,
        "question_kind": question.kind,
        "value": value,
        "chosen_labels": [labels.get(key, key) for key in chosen],
        "answered_at": _plain(answer.answered_at),
    }
