"""Generated data for statistics tests: a small, deterministic population (plain
``random`` with a seed) with every case the figures must tell apart — at-home, left,
released and premium registrations, derived prefecture registrations, deleted accounts,
verified and unverified people, voided attendance, applications of every state and
survey answers of every kind — plus ``brute_force``, which counts the same figures
in plain Python from the rows, knowing nothing of the SQL."""
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select

from furusato_cms.clock import to_tokyo
from furusato_cms.localgov import check_digit
from furusato_cms.models import (
    Account,
    ActivitySession,
    Attendance,
    IdentityVerification,
    PremiumApplication,
    Registration,
    RegistrationEvent,
    Site,
    SupportApplication,
    SurveyAnswer,
    SurveyQuestion,
)
from furusato_cms.services.home import is_home_site
from furusato_cms.vocabulary import CONNECTIONS

from .activity_factories import make_project, make_session
from .conftest import NOW
from .factories import T0, make_site
from .support_factories import make_measure


def code(first_five):
    return first_five + check_digit(first_five)


PREF, CITY, TOWN, SUSPENDED_CITY, OTHER = (
    code("20000"), code("20201"), code("20202"), code("20203"), code("13101"),
)
HOMES = (None, code("13101"), code("27100"), code("01100"), CITY, code("20999"))
"""Where generated people live: unverified, Tokyo, Osaka, Sapporo, at home in the
city (and its prefecture), and somewhere else in Nagano prefecture."""
BIRTHDATES = (date(1960, 5, 1), date(1988, 1, 15), date(1991, 11, 26), date(2001, 7, 7),
              date(1996, 11, 25))
"""Few ages, so some age and gender groups reach 10 people and others do not; the last
two sit exactly on a band boundary on NOW's Tokyo date (2026-11-25)."""
GENDERS = ("female", "male", "", "x")


@dataclass
class Population:
    sites: list
    accounts: list = field(default_factory=list)


def populate(dbsession, seed=7, people=90) -> Population:
    """Sites, then people in a few set-wide flushes (so it is quick on PostgreSQL too)."""
    rng = random.Random(seed)
    sites = [
        make_site(dbsession, PREF, name="長野県"),
        make_site(dbsession, CITY, name="長野市"),
        make_site(dbsession, TOWN, name="松本市"),
        make_site(dbsession, SUSPENDED_CITY, name="上田市", state="suspended"),
        make_site(dbsession, OTHER, name="千代田区"),
    ]
    questions = {site.id: _questions(dbsession, site) for site in sites}
    sessions = [s for site in sites for s in _sessions(dbsession, site, rng)]
    measures = {site.id: make_measure(dbsession, site, slug=f"m-{site.code}") for site in sites}
    accounts = [Account(email=f"p{n}@example.jp", display_name=f"人 {n}", kind="registrant",
                        created_at=T0, email_confirmed_at=T0) for n in range(people)]
    dbsession.add_all(accounts)
    dbsession.flush()
    registrations = []
    for account in accounts:
        deleted = rng.random() < 0.1
        home = rng.choice(HOMES)
        if home is not None and not deleted:
            dbsession.add(IdentityVerification(
                account_id=account.id, issuer="https://id.example.jp", subject=f"s{account.id}",
                name=account.display_name, address="", home_code=home,
                birthdate=rng.choice(BIRTHDATES), gender=rng.choice(GENDERS),
                verified_at=NOW - timedelta(days=300),
            ))
        mine = {}
        for site in rng.sample(sites[1:], rng.randint(0, 3)):
            mine[site.id] = _registration(rng, account, site, home)
            if site.prefecture_code == PREF[:2] and sites[0].id not in mine and rng.random() < 0.8:
                mine[sites[0].id] = _registration(rng, account, sites[0], home, mine[site.id])
        if sites[0].id not in mine and rng.random() < 0.15:
            mine[sites[0].id] = _registration(rng, account, sites[0], home)
        if deleted:
            _delete(account, mine.values())
        registrations += mine.values()
        for session in rng.sample(sessions, 4):
            _attend(dbsession, rng, session, account)
    dbsession.add_all(registrations)
    dbsession.flush()
    for registration in registrations:
        _answer(dbsession, rng, registration, questions[registration.site_id])
        _apply(dbsession, rng, registration, measures[registration.site_id])
    dbsession.flush()
    return Population(sites, accounts)


def _moment(rng, days=540):
    return NOW - timedelta(days=rng.randint(1, days), hours=rng.randint(0, 23))


def _registration(rng, account, site, home, derived_from=None):
    joined = _moment(rng)
    state = rng.choices(("active", "left", "released"), (75, 10, 15))[0]
    registration = Registration(
        account_id=account.id, site_id=site.id, state=state,
        tier="premium" if rng.random() < 0.2 else "basic", long_stay=rng.random() < 0.15,
        derived_from=derived_from, at_home=is_home_site(site, home),
        relationship_types=sorted(rng.sample(range(1, 5), rng.randint(0, 2))),
        connections=rng.sample(sorted(CONNECTIONS), rng.randint(1, 3)),
        registered_at=joined, state_changed_at=joined,
    )
    registration.events.append(RegistrationEvent(kind="joined", at=joined, detail={}))
    if state != "active":
        ended = joined + timedelta(days=rng.randint(0, 30))
        registration.events.append(RegistrationEvent(kind=state, at=ended, detail={}))
        registration.events.append(RegistrationEvent(kind="answers_updated", at=ended,
                                                     detail={}))
    elif rng.random() < 0.2:
        registration.events.append(RegistrationEvent(kind="left", at=joined + timedelta(1),
                                                     detail={}))
        registration.events.append(RegistrationEvent(kind="rejoined",
                                                     at=joined + timedelta(2), detail={}))
    return registration


def _questions(dbsession, site):
    made = [
        SurveyQuestion(site_id=site.id, kind="single", label="よく来る季節", position=1,
                       choices=[{"key": "spring", "label": "春"}, {"key": "autumn", "label": "秋"}],
                       created_at=NOW),
        SurveyQuestion(site_id=site.id, kind="multiple", label="関心", position=2,
                       choices=[{"key": "food", "label": "食"}, {"key": "ski", "label": "スキー"},
                                {"key": "art", "label": "芸術"}], created_at=NOW),
        SurveyQuestion(site_id=site.id, kind="scale", label="満足度", position=3, scale_min=1,
                       scale_max=5, created_at=NOW),
        SurveyQuestion(site_id=site.id, kind="text", label="ひとこと", position=4, created_at=NOW),
    ]
    dbsession.add_all(made)
    dbsession.flush()
    return made


def _answer(dbsession, rng, registration, questions):
    single, multiple, scale, text = questions
    values = {
        single: {"choice": rng.choice(["spring", "autumn"])},
        multiple: {"choices": rng.sample(["food", "ski", "art"], rng.randint(1, 3))},
        scale: {"scale": rng.randint(1, 5)},
        text: {"text": "楽しい"},
    }
    for question, value in values.items():
        if rng.random() < 0.8:
            dbsession.add(SurveyAnswer(registration_id=registration.id, question_id=question.id,
                                       value=value, answered_at=NOW))


def _sessions(dbsession, site, rng):
    sessions = []
    for number in range(2):
        project = make_project(dbsession, site, f"活動{number}", slug=f"p{number}-{site.code}")
        sessions += [make_session(dbsession, project, _moment(rng, 420)) for _ in range(3)]
    return sessions


def _attend(dbsession, rng, session, account):
    voided = rng.random() < 0.15
    dbsession.add(Attendance(
        session_id=session.id, account_id=account.id, site_id=session.site_id,
        attended_at=session.starts_at, recorded_at=session.starts_at, source="staff",
        designated=True, voided_at=session.starts_at if voided else None,
    ))


def _apply(dbsession, rng, registration, measure):
    submitted = _moment(rng, 400)
    if rng.random() < 0.5:
        dbsession.add(PremiumApplication(
            registration_id=registration.id, account_id=registration.account_id,
            site_id=registration.site_id, kind=rng.choice(["new", "renewal"]),
            state=rng.choice(["pending", "approved", "rejected", "withdrawn"]),
            submitted_at=submitted,
        ))
    if rng.random() < 0.5:
        state = rng.choice(["submitted", "approved", "rejected", "paid"])
        amount = rng.randint(1, 90) * 1000
        dbsession.add(SupportApplication(
            measure_id=measure.id, site_id=registration.site_id,
            registration_id=registration.id, account_id=registration.account_id, state=state,
            tier=registration.tier, submitted_amount=amount, submitted_at=submitted,
            approved_amount=amount if state in ("approved", "paid") else None,
            paid_at=submitted + timedelta(days=rng.randint(1, 60)) if state == "paid" else None,
        ))


def _delete(account, registrations):
    """As deleting an account does: registrations left, no identity, a tombstone."""
    for registration in registrations:
        if registration.state == "active":
            registration.state = "left"
            registration.events.append(RegistrationEvent(
                kind="left", at=NOW - timedelta(hours=1), detail={"reason": "account_deleted"}))
    account.disabled_at = NOW - timedelta(hours=1)


# -- the same figures in plain Python ---------------------------------------------------


def month(moment):
    return to_tokyo(moment).strftime("%Y-%m")


def age_on(birthdate, today):
    return today.year - birthdate.year - ((today.month, today.day) < (birthdate.month, birthdate.day))


def band(age):
    if age >= 70:
        return "70+"
    if age < 20:
        return "0-19"
    low = age // 10 * 10
    return f"{low}-{low + 9}"


def gender(value):
    return value if value in ("female", "male") else "other"


def brute_force(dbsession, now) -> dict:
    """{(site_id, figure, key): value} of every figure, from the rows one by one; the
    nation's rows are site 0 (real people), summed over sites for the rest."""
    today = to_tokyo(now).date()
    accounts = {a.id: a for a in dbsession.scalars(select(Account))}
    identities = {v.account_id: v for v in dbsession.scalars(select(IdentityVerification))}
    registrations = list(dbsession.scalars(select(Registration)))
    counted = [r for r in registrations if r.state == "active" and not r.at_home
               and accounts[r.account_id].disabled_at is None]
    out = Counter()

    def count(site_id, figure, key="", amount=1):
        out[(site_id, figure, key)] += amount

    for r in counted:
        count(r.site_id, "people")
        count(r.site_id, "tier", r.tier)
        if r.long_stay:
            count(r.site_id, "long_stay")
        count(r.site_id, "origin", "derived" if r.derived_from_id else "direct")
        count(r.site_id, "registered_month",
              f"{month(r.registered_at)}|{'derived' if r.derived_from_id else 'direct'}")
        for key in r.relationship_types or ["unanswered"]:
            count(r.site_id, "relationship_type", str(key))
        for key in set(r.connections):
            count(r.site_id, "connection", key)
        identity = identities.get(r.account_id)
        if identity is not None:
            count(r.site_id, "verified")
            if identity.home_code:
                count(r.site_id, "home_prefecture", identity.home_code[:2])
            count(r.site_id, "age_gender",
                  f"{band(age_on(identity.birthdate, today))}|{gender(identity.gender)}")
    events = defaultdict(list)
    for event in dbsession.scalars(select(RegistrationEvent)):
        events[event.registration_id].append(event)
    for r in registrations:
        if r.state == "active" and r.at_home and accounts[r.account_id].disabled_at is None:
            count(r.site_id, "at_home")
        if r.at_home:
            continue
        for event in events[r.id]:
            kind = {"joined": "joined", "rejoined": "joined", "left": "left",
                    "released": "released"}.get(event.kind)
            if kind:
                count(r.site_id, "registration_flow", f"{month(event.at)}|{kind}")
    _activity(dbsession, now, count)
    _applications(dbsession, count)
    _survey(dbsession, counted, count)
    prefectures = dict(dbsession.execute(select(Site.id, Site.prefecture_code)).all())
    _nation(out, counted, identities, today, prefectures)
    return {key: value for key, value in out.items() if value}


def _activity(dbsession, now, count):
    projects = dict(dbsession.execute(select(ActivitySession.id, ActivitySession.project_id)).all())
    for a in dbsession.scalars(select(Attendance).where(Attendance.voided_at.is_(None))):
        count(a.site_id, "attendance", month(a.attended_at))
        count(a.site_id, "attendance_by_project", f"{month(a.attended_at)}|{projects[a.session_id]}")
        if now - timedelta(days=365) < a.attended_at <= now:
            count(a.site_id, "attendance_12m")


def _applications(dbsession, count):
    for a in dbsession.scalars(select(PremiumApplication)):
        count(a.site_id, "premium_applications", f"{month(a.submitted_at)}|{a.state}")
    for a in dbsession.scalars(select(SupportApplication)):
        count(a.site_id, "support_applications", f"{month(a.submitted_at)}|{a.state}")
        if a.state == "paid":
            count(a.site_id, "support_paid_yen", month(a.paid_at), a.approved_amount or 0)


def _survey(dbsession, counted, count):
    by_id = {r.id: r for r in counted}
    questions = {q.id: q for q in dbsession.scalars(select(SurveyQuestion))}
    for answer in dbsession.scalars(select(SurveyAnswer)):
        registration = by_id.get(answer.registration_id)
        question = questions[answer.question_id]
        if registration is None or question.kind == "text":
            continue
        value = answer.value
        keys = {"single": lambda: [value["choice"]], "multiple": lambda: set(value["choices"]),
                "scale": lambda: [str(value["scale"])]}[question.kind]()
        for key in keys:
            count(registration.site_id, "survey_choice", f"{question.id}:{key}")


NOT_SUMMED = ("attendance_by_project", "survey_choice")
"""Per-project and per-question keys mean nothing for the nation."""


def _nation(out, counted, identities, today, prefectures):
    sums = defaultdict(int)
    for (site_id, figure, key), value in out.items():
        if figure not in NOT_SUMMED:
            sums[(0, figure, key)] += value
    out.update(sums)
    people = {r.account_id for r in counted}
    out[(0, "nation_people", "")] = len(people)
    for account_id, prefecture in {(r.account_id, prefectures[r.site_id]) for r in counted}:
        out[(0, "nation_people_by_prefecture", prefecture)] += 1
    for account_id in people:
        identity = identities.get(account_id)
        if identity is None:
            continue
        if identity.home_code:
            out[(0, "nation_home_prefecture", identity.home_code[:2])] += 1
        out[(0, "nation_age_gender",
             f"{band(age_on(identity.birthdate, today))}|{gender(identity.gender)}")] += 1
