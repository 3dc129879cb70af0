"""Demo data that shows the product (issue 18 item 10): what ``furusato-demo`` adds on top
of the sites, pages and accounts, so every screen a newcomer opens has something real.

Everything goes through the services (projects, sessions, designation, survey questions,
support measures, images, registration, attendance, premium, statistics), so the demo
obeys the same rules as real data; only the identity verification, which needs the My
Number Card provider, is written as the row the provider's callback would leave.

It loads once: the marker is any project of 長野市 (202011). On an older demo database
(sites and accounts from before this module) it adds itself the first time, leaving alone
the registrations someone already made there by hand.
"""
import io
from datetime import date, timedelta

from PIL import Image as PILImage, ImageDraw
from sqlalchemy import select

from ..models import Account, IdentityVerification, Project, Registration, Site
from ..services.attendance import AttendanceService
from ..services.audit import Actor
from ..services.images import ImageService
from ..services.policies import PolicyService
from ..services.premium import PremiumService
from ..services.projects import ProjectScope, ProjectService
from ..services.session_applications import ApplicationService
from ..services.registration import RegistrationService
from ..services.statistics import StatisticsService
from ..services.support import SupportService
from ..services.survey import SurveyService
from ..services.passwords import hash_password

CHIYODA = "131016"
"""Where the demo people live (東京都千代田区): not at home in 長野."""

PROJECTS = {
    # site: [(title, field, designated, summary, body, place, sessions as (days from now,
    #   hour, hours, capacity, online))]
    "202011": [
        ("りんご収穫のお手伝い", "agriculture", True,
         "市内の農園で、りんごの収穫と箱詰めを手伝います。",
         "10月から12月まで、長野市のりんご農園で収穫と箱詰めを手伝っていただきます。"
         "はじめての方も、農家さんが丁寧に教えます。汚れてもよい服装でお越しください。",
         "長野市 若穂 りんご農園（集合：若穂支所）",
         [(-70, 9, 4, 20, False), (-45, 9, 4, 20, False), (-20, 9, 4, 20, False),
          (9, 9, 4, 15, False), (23, 9, 4, 15, False)]),
        ("冬の雪かきボランティア", "snow_removal", True,
         "高齢者世帯の玄関先や通路の雪かきをします。",
         "戸隠・鬼無里地区の高齢者世帯で、玄関先や通路の雪かきをします。"
         "スコップや長靴は貸し出します。説明会はオンラインでも参加できます。",
         "長野市 戸隠支所",
         [(-30, 10, 3, None, False), (-12, 10, 3, None, False), (5, 19, 1, 50, True),
          (16, 10, 3, None, False)]),
        ("善光寺門前まち歩きガイド", "tourism", False,
         "門前町を訪れる方に、まち歩きマップを使って案内します。",
         "善光寺の門前町を訪れる方に、まち歩きマップを使って老舗やお店を案内します。",
         "長野市 善光寺 仁王門前",
         [(-40, 13, 2, 10, False), (12, 13, 2, 10, False)]),
    ],
    "202029": [
        ("クラフトフェア運営ボランティア", "festival", True,
         "クラフトフェアの会場設営と案内を一緒に担います。",
         "毎年5月のクラフトフェアに向けて、会場設営や来場者の案内を担うボランティアを"
         "募集します。準備の打ち合わせはオンラインです。",
         "松本市 あがたの森公園",
         [(-25, 9, 6, 30, False), (14, 20, 1, 40, True), (30, 9, 6, 30, False)]),
    ],
    "200000": [
        ("信州の森づくり 植樹ボランティア", "nature", True,
         "県有林で苗木を植え、下草を刈ります。",
         "県内の森で、苗木の植樹と下草刈りを行います。道具は用意します。",
         "長野県 県民の森（塩尻市）",
         [(-35, 9, 5, 40, False), (20, 9, 5, 40, False)]),
    ],
}

QUESTIONS = {
    "202011": [
        ("single", "長野市を訪れる頻度を教えてください", "年に1回未満\n年に1〜2回\n年に3回以上", False),
        ("multiple", "関わってみたい活動（いくつでも）", "農業体験\n雪かき\n観光案内\nお祭り", False),
        ("scale", "長野市への愛着はどのくらいですか", "", False),
    ],
    "202029": [
        ("text", "松本市とのつながりを自由にお書きください", "", False),
    ],
}

MEASURES = {
    "202011": [
        ("ふるさと住民の交通費補助", "活動に来るときの交通費の3/4（上限30,000円）を補助します。",
         dict(family="travel", applicants="basic", rate_numerator=3, rate_denominator=4,
              cap_yen=30000, cap_unit="per_application", budget_yen=1_000_000)),
        ("空き家改修の支援", "二地域居住のための空き家改修費の1/2（上限300,000円）を支援します。",
         dict(family="vacant_house_renovation", applicants="premium", rate_numerator=1,
              rate_denominator=2, cap_yen=300000, cap_unit="per_person_year",
              budget_yen=3_000_000)),
    ],
}

PEOPLE = [
    # email, name, sites, types, connections
    ("hanako@example.jp", "ふるさと 花子", ["202011"], [3], ["volunteering", "tourism"]),
    ("jiro@example.jp", "信州 次郎", ["202011", "202029"], [2], ["tourism"]),
    ("sachiko@example.jp", "松本 幸子", ["202029"], [1], ["furusato_nozei"]),
    ("ken@example.jp", "長野 健", ["202011"], [4], ["dual_residence"]),
    ("yuki@example.jp", "雪野 ゆき", ["202011"], [2, 3], ["former_residence"]),
    ("mirai@example.jp", "未来 みらい", ["200000"], [1], ["birthplace"]),
]
PREMIUM_EMAIL = "hanako@example.jp"
"""The premium demo person: verified, three designated activities, premium with 長野市."""


def is_loaded(dbsession) -> bool:
    return dbsession.scalar(
        select(Project.id).join(Site, Site.id == Project.site_id).where(Site.code == "202011")
        .limit(1)) is not None


def load(dbsession, now, settings, *, password: str) -> bool:
    """Add the showcase unless it is there; returns whether it loaded."""
    if is_loaded(dbsession):
        return False
    clock = (lambda: now)
    sites = {site.code: site for site in dbsession.scalars(select(Site))}
    accounts = {a.email: a for a in dbsession.scalars(select(Account))}
    coordinator = _actor(accounts["coordinator@example.jp"])
    sessions = _projects(dbsession, clock, settings, sites, coordinator)
    _questions(dbsession, clock, settings, sites, coordinator)
    _measures(dbsession, clock, settings, sites, coordinator)
    people = _people(dbsession, clock, settings, sites, accounts, password)
    _attendance(dbsession, clock, settings, coordinator, sessions, people)
    _premium(dbsession, clock, settings, sites, people[PREMIUM_EMAIL])
    StatisticsService(dbsession, clock=clock, settings=settings).refresh()
    dbsession.flush()
    return True


def _actor(account) -> Actor:
    return Actor(account_id=account.id, label=account.email, client_addr="127.0.0.1")


def _projects(dbsession, clock, settings, sites, actor) -> dict:
    """Published projects with past and upcoming sessions; an illustrated body for the
    first. Returns {site code: [(session, designated)] past sessions}."""
    service = ProjectService(dbsession, clock=clock, settings=settings)
    scope = ProjectScope(site_wide=True)
    now = clock()
    past = {}
    for code, projects in PROJECTS.items():
        site = sites[code]
        image = ImageService(dbsession, clock=clock, settings=settings).upload(
            actor, site, "demo.png", _picture(code), f"{site.name}の風景（デモ用の絵）")
        for index, (title, field, designated, summary, body, place, times) in enumerate(projects):
            if index == 0:
                body += f"\n\n![{image.alt_text}](/s/{code}/images/{image.public_key})"
            project = service.create(actor, site, scope, title=title, summary=summary,
                                     body=body, field=field,
                                     conditions="どなたでも参加できます。")
            project.published_at = now - timedelta(days=90)
            service.designate(actor, project, designated)
            service.transition(actor, project, "published", may_publish=True)
            for days, hour, hours, capacity, online in times:
                starts = (now + timedelta(days=days)).replace(hour=hour - 9 if hour >= 9
                                                              else hour + 15,
                                                              minute=0, second=0, microsecond=0)
                session = service.add_session(
                    actor, project, starts_at=starts, ends_at=starts + timedelta(hours=hours),
                    place="オンライン（Zoom）" if online else place, capacity=capacity,
                    application_required=capacity is not None, online=online)
                if days < 0:
                    past.setdefault(code, []).append((session, designated))
    return past


def _questions(dbsession, clock, settings, sites, actor):
    service = SurveyService(dbsession, clock=clock, settings=settings)
    for code, questions in QUESTIONS.items():
        for kind, label, choices, required in questions:
            service.create_question(actor, sites[code], kind=kind, label=label,
                                    choices=choices, required=required)


def _measures(dbsession, clock, settings, sites, actor):
    service = SupportService(dbsession, clock=clock, settings=settings)
    for code, measures in MEASURES.items():
        for title, summary, terms in measures:
            measure = service.create_measure(actor, sites[code], title=title, summary=summary,
                                             body=summary, confirmed_local_benefit=True,
                                             **terms)
            service.transition(actor, measure, "published", may_publish=True)


def _people(dbsession, clock, settings, sites, accounts, password) -> dict:
    """The demo registrant and six more people, registered through the service."""
    now = clock()
    policies = PolicyService(dbsession, clock=clock, settings=settings)
    registration = RegistrationService(dbsession, clock=clock, settings=settings)
    password_hash = hash_password(password)
    people = {"registrant@example.jp": accounts["registrant@example.jp"]}
    plans = [("registrant@example.jp", None, ["202011"], [2, 3], ["tourism", "volunteering"])]
    plans += PEOPLE
    for email, name, codes, types, connections in plans:
        account = people.get(email)
        if account is None:
            account = Account(email=email, display_name=name, password_hash=password_hash,
                              kind="registrant", created_at=now, email_confirmed_at=now)
            dbsession.add(account)
            dbsession.flush()
            policies.accept_terms(account)
            people[email] = account
        if email == PREMIUM_EMAIL and dbsession.scalar(select(IdentityVerification.id).where(
                IdentityVerification.account_id == account.id)) is None:
            dbsession.add(IdentityVerification(
                account_id=account.id, issuer="https://demo-idp.example.jp",
                subject=f"demo-{account.id}", name=name, address="東京都千代田区",
                postal_code="1000001", home_code=CHIYODA, birthdate=date(1988, 6, 1),
                verified_at=now - timedelta(days=100)))
            dbsession.flush()
        held = set(dbsession.scalars(select(Registration.site_id).where(
            Registration.account_id == account.id, Registration.state == "active",
            Registration.derived_from_id.is_(None))))
        for code in codes:
            if sites[code].id not in held:
                registration.register(account, sites[code], types, connections, {})
        policies.accept_notices(account, [sites[code] for code in codes])
    return people


def _attendance(dbsession, clock, settings, actor, sessions, people):
    """The premium person at three designated activities; the demo registrant at two
    (premium progress 2 of 3) and with a place in an upcoming session."""
    service = AttendanceService(dbsession, clock=clock, settings=settings)
    designated = [session for session, flag in sessions["202011"] if flag]
    for session in designated[:3]:
        service.record_by_staff(actor, session, people[PREMIUM_EMAIL])
    for session in designated[:2]:
        service.record_by_staff(actor, session, people["registrant@example.jp"])
    for session, _flag in sessions["202011"][:1]:
        service.record_by_staff(actor, session, people["yuki@example.jp"])
    upcoming = dbsession.scalars(
        select(Project).join(Site, Site.id == Project.site_id).where(Site.code == "202011")
        .order_by(Project.id)).first().sessions
    applications = ApplicationService(dbsession, clock=clock, settings=settings)
    later = [s for s in upcoming if s.starts_at > clock()]
    applications.apply(people["registrant@example.jp"], later[0], {})


def _premium(dbsession, clock, settings, sites, account):
    registration = dbsession.scalar(select(Registration).where(
        Registration.account_id == account.id, Registration.site_id == sites["202011"].id))
    PremiumService(dbsession, clock=clock, settings=settings).apply(account, registration)


def _picture(code) -> bytes:
    """A small drawn landscape (mountains, sun, fields), so pages show an image."""
    image = PILImage.new("RGB", (960, 540), "#cfe8f7")
    draw = ImageDraw.Draw(image)
    draw.ellipse((740, 60, 840, 160), fill="#f6c453")
    draw.polygon([(0, 400), (260, 150), (480, 400)], fill="#5b7f95")
    draw.polygon([(300, 400), (560, 110), (860, 400)], fill="#46697d")
    draw.polygon([(560, 170), (600, 210), (520, 210)], fill="#ffffff")
    draw.rectangle((0, 380, 960, 540), fill="#7fb069" if code != "202029" else "#a7c957")
    for x in range(40, 960, 120):
        draw.ellipse((x, 420, x + 60, 480), fill="#c0392b")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
