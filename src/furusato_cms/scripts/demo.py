"""furusato-demo <ini>: load demo data once (for local use only; README lists the accounts).

長野県 and two of its cities with real codes, introduction pages and posts in
Japanese, one pending application (上田市), and one account per role. Every site starts
with the template privacy notice, and the demo registrant has accepted the template terms
(the migration seeds them), so the demo opens straight on the registrant's pages.
On top of that ``devtools.demo_showcase`` adds projects with past and upcoming sessions,
survey questions, support measures, images, registrants with attendance, a premium one,
and a refreshed statistics snapshot (each part loads once, so repeating is harmless).

Staff and the operator must use two-step sign-in, so the demo's are enrolled already,
all with the published key ``DEMO_TOTP_SECRET`` (add it to an authenticator app), and
``furusato-demo <ini> --code`` prints the code of the moment. A published key is no
secret: like the shared password, it is for a laptop, never for production.
"""
from datetime import date, timedelta

import pyotp
from sqlalchemy import select

from ..appsettings import AppSettings
from ..clock import system_clock
from ..devtools import demo_showcase
from ..localgov import kind_of
from ..models import Account, ContentTag, ContentVersion, IntroPage, Post, Site, StaffMembership
from ..services.passwords import hash_password
from ..services.policies import PolicyService
from .common import db_transaction, ini_parser, load_settings

DEMO_PASSWORD = "furusato-demo-2026"
DEMO_TOTP_SECRET = "FURUSATODEMOSTAFFKEYFORLOCALUSEX"


def demo_code(now=None) -> str:
    """The 6-digit code the demo staff's authenticator shows at ``now`` (default: now)."""
    return pyotp.TOTP(DEMO_TOTP_SECRET).at(now or system_clock())

SITES = [
    ("200000", "長野県", "ながのけん", "active"),
    ("202011", "長野市", "ながのし", "active"),
    ("202029", "松本市", "まつもとし", "active"),
    ("202037", "上田市", "うえだし", "applied"),
]

INTROS = {
    "200000": "## 信州・長野県へようこそ\n\n北アルプスに囲まれた長野県は、四季の自然と"
    "温かい人々が魅力です。県内の市町村と一緒に、ふるさと住民の皆さんを歓迎します。",
    "202011": "## 長野市について\n\n善光寺の門前町として栄えた長野市は、りんごの産地でもあります。\n\n"
    "- 善光寺周辺のまち歩き\n- 秋のりんご収穫\n- 冬の雪かきボランティア\n\n"
    "ふるさと住民として、まちづくりに関わってみませんか。",
    "202029": "## 松本市について\n\n国宝松本城と北アルプスの玄関口。"
    "工芸とクラフトのまちでもあります。\n\n関わり方はさまざまです。まずはお知らせをご覧ください。",
}

POSTS = {
    "202011": [
        ("apple-harvest-2026", "りんご収穫のお手伝いを募集します", "event", ["agriculture"],
         "10月から11月にかけて、市内の農園でりんご収穫のお手伝いをしてくださる方を募集します。",
         5),
        ("snow-volunteer", "冬の雪かきボランティア説明会", "news", ["snow_removal", "disaster_prevention"],
         "高齢者世帯の雪かきを手伝うボランティアの説明会を開きます。オンライン参加もできます。",
         2),
        ("zenkoji-walk", "善光寺門前まち歩きマップを公開しました", "attraction", ["tourism", "culture"],
         "門前町の老舗やおすすめの散策コースをまとめたマップを公開しました。", 10),
    ],
    "202029": [
        ("craft-fair", "クラフトフェアの運営ボランティア", "event", ["festival", "culture"],
         "毎年5月のクラフトフェアを一緒に支えてくださる方を募集しています。", 3),
        ("moving-support", "移住・二地域居住の相談窓口", "life", ["dual_residence", "housing"],
         "住まいや仕事の相談を受け付けています。お気軽にお問い合わせください。", 7),
    ],
}

ACCOUNTS = [
    # email, display name, site code, role, reviewer, operator, kind
    ("operator@example.jp", "総務省 運用担当", None, None, False, True, "staff"),
    ("admin@example.jp", "長野市 管理者", "202011", "site_admin", False, False, "staff"),
    ("editor@example.jp", "長野市 編集者", "202011", "editor", False, False, "staff"),
    ("reviewer@example.jp", "長野市 承認者", "202011", "editor", True, False, "staff"),
    ("coordinator@example.jp", "長野市 コーディネーター", "202011", "coordinator", False, False, "staff"),
    ("partner@example.jp", "長野市 関係団体", "202011", "partner", False, False, "staff"),
    ("registrant@example.jp", "ふるさと 太郎", None, None, False, False, "registrant"),
]


def load(dbsession, now, settings=None):
    """Insert the demo data unless it is already there; returns whether anything loaded.
    ``settings``: the app's (the services take them); a stand-in when not given."""
    settings = settings or AppSettings(session_secret="furusato-demo")
    loaded = _load_base(dbsession, now)
    return demo_showcase.load(dbsession, now, settings, password=DEMO_PASSWORD) or loaded


def _load_base(dbsession, now):
    """The sites, pages and one account per role, unless they are there."""
    if dbsession.scalar(select(Site.id).where(Site.code == SITES[0][0])) is not None:
        return False
    sites = {}
    for code, name, kana, state in SITES:
        site = Site(
            code=code, name=name, name_kana=kana, kind=kind_of(code), prefecture_code=code[:2],
            state=state, applied_at=now - timedelta(days=30), state_changed_at=now,
            joined_on=date(2026, 10, 1) if state == "active" else None,
            contact_name="ふるさと推進課", contact_department="企画政策部 ふるさと推進課",
            contact_email=f"furusato-{code}@example.jp", contact_phone="026-000-0000",
        )
        dbsession.add(site)
        sites[code] = site
    dbsession.flush()
    for code, body in INTROS.items():
        _add_content(dbsession, IntroPage, sites[code], IntroPage.SLUG, sites[code].name, "",
                     body, "news", [], now, now)
    for code, posts in POSTS.items():
        for slug, title, kind, tags, body, days_ago in posts:
            _add_content(dbsession, Post, sites[code], slug, title, body[:60], body, kind, tags,
                         now, now - timedelta(days=days_ago))
    password_hash = hash_password(DEMO_PASSWORD)
    policies = PolicyService(dbsession, clock=lambda: now, settings=None)
    for email, name, code, role, reviewer, operator, kind in ACCOUNTS:
        enrolled = kind == "staff" or operator
        account = Account(email=email, display_name=name, password_hash=password_hash,
                          is_operator=operator, kind=kind, created_at=now,
                          email_confirmed_at=now,
                          totp_secret=DEMO_TOTP_SECRET if enrolled else None,
                          totp_enabled_at=now if enrolled else None)
        dbsession.add(account)
        dbsession.flush()
        if code:
            dbsession.add(StaffMembership(site_id=sites[code].id, account_id=account.id,
                                          role=role, is_reviewer=reviewer, created_at=now))
        if kind == "registrant":
            policies.accept_terms(account)
    for site in sites.values():
        policies.ensure_notice(site)
    dbsession.flush()
    return True


def _add_content(dbsession, cls, site, slug, title, summary, body, kind, tags, now, published_at):
    item = cls(site_id=site.id, slug=slug, title=title, summary=summary, body=body, kind=kind,
               state="published", published_at=published_at, created_at=published_at,
               updated_at=published_at)
    dbsession.add(item)
    dbsession.flush()
    dbsession.add_all(ContentTag(content_id=item.id, tag=tag) for tag in tags)
    dbsession.add(ContentVersion(content_id=item.id, number=1, title=title, summary=summary,
                                 body=body, kind=kind, tags=tags, created_at=now))


def main(argv=None):
    parser = ini_parser(__doc__)
    parser.add_argument("--code", action="store_true",
                        help="print the demo staff's current two-step sign-in code and stop")
    args = parser.parse_args(argv)
    if args.code:
        print(demo_code())
        return
    settings = load_settings(args.config_uri)
    with db_transaction(settings) as (dbsession, app_settings):
        loaded = load(dbsession, system_clock(), app_settings)
    print("demo data loaded" if loaded else "demo data already present; nothing changed")
