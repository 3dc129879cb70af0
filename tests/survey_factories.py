"""Test data for a site's own survey questions and the registrations that answer them."""
from furusato_cms.models import Account, Registration, SurveyAnswer, SurveyQuestion

from .factories import T0, make_account

FRUITS = [("apple", "りんご"), ("grape", "ぶどう"), ("peach", "もも")]


def make_question(dbsession, site, kind="single", *, label=None, choices=None, required=False,
                  show_if=None, position=None, retired_at=None, **kw):
    """A question at the end of the site's list. ``choices``: (key, label) pairs, or labels
    (keys c1, c2, …); single/multiple default to FRUITS. ``show_if``: (question, key)."""
    if choices is None:
        choices = FRUITS if kind in ("single", "multiple") else []
    pairs = [c if isinstance(c, tuple) else (f"c{n}", c) for n, c in enumerate(choices, 1)]
    if position is None:
        position = dbsession.query(SurveyQuestion).filter_by(site_id=site.id).count()
    question = SurveyQuestion(
        site_id=site.id,
        position=position,
        kind=kind,
        label=label or f"{kind}の質問",
        help_text=kw.pop("help_text", ""),
        choices=[{"key": key, "label": text} for key, text in pairs],
        required=required,
        show_if_question_id=show_if[0].id if show_if else None,
        show_if_choice=show_if[1] if show_if else None,
        created_at=T0,
        retired_at=retired_at,
        **kw,
    )
    dbsession.add(question)
    dbsession.flush()
    return question


def make_registration(dbsession, site, account=None, *, email=None, state="active", **kw):
    """An active basic registration of a new registrant account with ``site``."""
    if account is None:
        account = make_account(
            dbsession, email or f"person{_count(dbsession)}@example.jp", name="登録 太郎",
            kind="registrant",
        )
    registration = Registration(
        account_id=account.id, site_id=site.id, state=state,
        registered_at=kw.pop("registered_at", T0), state_changed_at=T0, **kw,
    )
    dbsession.add(registration)
    dbsession.flush()
    return registration


def make_answer(dbsession, registration, question, value, *, at=T0):
    answer = SurveyAnswer(registration_id=registration.id, question_id=question.id,
                          value=value, answered_at=at)
    dbsession.add(answer)
    dbsession.flush()
    return answer


def _count(dbsession):
    return dbsession.query(Account).count() + 1
