"""A small country for the activity search: three public sites in two prefectures, a
hidden one, and projects whose sessions differ in one thing each."""
from dataclasses import dataclass
from datetime import timedelta

from furusato_cms.models import SessionApplication

from .activity_factories import make_project, make_session
from .conftest import NOW
from .factories import make_site
from .premium_factories import local_code


@dataclass
class Country:
    nagano: object
    matsumoto: object
    maebashi: object
    hidden: object
    apple: object
    snow: object
    craft: object
    draft: object
    sessions: dict


def make_country(dbsession) -> Country:
    nagano = make_site(dbsession, "202011", name="長野市", with_intro=False)
    matsumoto = make_site(dbsession, "202029", name="松本市", with_intro=False)
    maebashi = make_site(dbsession, local_code("10201"), name="前橋市", with_intro=False)
    hidden = make_site(dbsession, local_code("20203"), name="上田市", with_intro=False,
                       preparing=True)
    apple = make_project(dbsession, nagano, "りんご収穫の手伝い", field="agriculture",
                         summary="農園で収穫します")
    snow = make_project(dbsession, nagano, "雪かきボランティア", field="snow_removal",
                        designated=False, slug="snow")
    craft = make_project(dbsession, matsumoto, "Craft fair helpers", field="festival",
                         slug="craft")
    gunma = make_project(dbsession, maebashi, "赤城山の植樹", field="nature", slug="akagi")
    draft = make_project(dbsession, nagano, "下書きの活動", state="draft", slug="draft")
    secret = make_project(dbsession, hidden, "準備中の活動", slug="secret")
    day = timedelta(days=1)
    sessions = {
        "apple_past": make_session(dbsession, apple, NOW - 3 * day),
        "apple_soon": make_session(dbsession, apple, NOW + 2 * day, capacity=2,
                                   application_required=True),
        "apple_later": make_session(dbsession, apple, NOW + 20 * day),
        "snow": make_session(dbsession, snow, NOW + 5 * day),
        "craft_online": make_session(dbsession, craft, NOW + 7 * day, place="Zoom"),
        "akagi": make_session(dbsession, gunma, NOW + 9 * day),
        "draft": make_session(dbsession, draft, NOW + 1 * day),
        "secret": make_session(dbsession, secret, NOW + 1 * day),
        "cancelled": make_session(dbsession, snow, NOW + 6 * day),
    }
    sessions["craft_online"].online = True
    sessions["cancelled"].cancelled_at = NOW
    from .registrant_factories import make_registrant
    for index in range(2):
        person = make_registrant(dbsession, f"full-{index}@example.jp")
        dbsession.add(SessionApplication(session_id=sessions["apple_soon"].id,
                                         account_id=person.id, state="applied",
                                         applied_at=NOW, updated_at=NOW))
    dbsession.flush()
    return Country(nagano, matsumoto, maebashi, hidden, apple, snow, craft, draft, sessions)
