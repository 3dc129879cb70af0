"""Test data for registrants (登録者): accounts that sign up themselves, the data held
about them, and the links mailed to them."""
import re
from dataclasses import dataclass
from datetime import date

from furusato_cms.models import (
    GuardianConsent,
    IdentityVerification,
    Registration,
    RegistrationEvent,
    SurveyAnswer,
    SurveyQuestion,
)

from .factories import T0, make_account


def make_registrant(dbsession, email="person@example.jp", *, confirmed=True,
                    name="住民 太郎", locale="ja", **kw):
    """A registrant account with the shared test password (``factories.PASSWORD``);
    its email address is confirmed unless ``confirmed=False``."""
    return make_account(
        dbsession, email, name=name, kind="registrant", locale=locale,
        email_confirmed_at=T0 if confirmed else None, **kw,
    )


def mail_link(mail_catcher, to, prefix) -> str:
    """The path of the link starting with ``prefix`` (e.g. "/confirm/") in the newest
    mail to ``to``; the test app's base URL is http://localhost."""
    messages = mail_catcher.messages(to=to)
    assert messages, f"no mail to {to}"
    match = re.search(r"http://localhost(" + re.escape(prefix) + r"[A-Za-z0-9_\-]+)",
                      messages[-1]["text"])
    assert match, messages[-1]["text"]
    return match.group(1)


@dataclass
class PersonalData:
    verification: IdentityVerification
    registration: Registration
    choice_answer: SurveyAnswer
    text_answer: SurveyAnswer


def make_personal_data(dbsession, account, site, *, person="山田 花子", subject="sub-1",
                       note="毎年夏に帰省しています"):
    """A verified identity with a guardian's consent, a registration with ``site`` with
    its history, and answers to a choice question and a free-text question."""
    verification = IdentityVerification(
        account_id=account.id, issuer="https://id.example.jp", subject=subject, name=person,
        address="長野県長野市大字鶴賀緑町1613番地", postal_code="3808512",
        home_code="202011", birthdate=date(2010, 4, 1), gender="female", verified_at=T0,
    )
    verification.guardian_consent = GuardianConsent(
        guardian_name=f"{person}の保護者", relationship_to_minor="mother",
        guardian_email="guardian@example.jp", recorded_at=T0,
        confirmed_at=T0,
    )
    registration = Registration(
        account_id=account.id, site_id=site.id, relationship_types=[4],
        connections=["birthplace", "family"], registered_at=T0, state_changed_at=T0,
    )
    registration.events.append(RegistrationEvent(kind="joined", at=T0, detail={}))
    choice = _question(dbsession, site, "single", "好きな季節", position=1,
                       choices=[{"key": "summer", "label": "夏"}, {"key": "winter", "label": "冬"}])
    text = _question(dbsession, site, "text", "ひとこと", position=2)
    dbsession.add_all([verification, registration])
    dbsession.flush()
    answers = [
        SurveyAnswer(registration_id=registration.id, question_id=choice.id,
                     value={"choice": "summer"}, answered_at=T0),
        SurveyAnswer(registration_id=registration.id, question_id=text.id,
                     value={"text": note}, answered_at=T0),
    ]
    dbsession.add_all(answers)
    dbsession.flush()
    return PersonalData(verification, registration, *answers)


def _question(dbsession, site, kind, label, **kw):
    question = SurveyQuestion(site_id=site.id, kind=kind, label=label, created_at=T0, **kw)
    dbsession.add(question)
    dbsession.flush()
    return question
