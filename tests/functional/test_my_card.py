"""The registration card (/my/card): content, print stylesheet, offline pieces."""
import json
import re
from datetime import datetime, timezone

import pytest

from furusato_cms.services.registration import RegistrationService

from ..factories import MATSUMOTO, NAGANO_CITY, NAGANO_PREF, make_site, make_staff, sign_in
from ..registrant_factories import make_registrant
from ..registration_factories import make_verification


@pytest.fixture
def person(testapp, dbsession, clock, app_settings):
    account = make_registrant(dbsession, "card-holder@example.jp", name="ふるさと 花子")
    sign_in(testapp, dbsession, account, clock, app_settings)
    return account


@pytest.fixture
def registered(dbsession, clock, app_settings, person):
    """長野市 (bringing 長野県 with it) and 松本市."""
    make_site(dbsession, NAGANO_PREF)
    service = RegistrationService(dbsession, clock=clock, settings=app_settings)
    for code in (NAGANO_CITY, MATSUMOTO):
        service.register(person, make_site(dbsession, code), [4], ["birthplace"], {})
    dbsession.flush()
    return person


def card_entries(page) -> list:
    """The card's registration lines as plain text, one per site."""
    items = re.findall(r'(?s)<ul class="card-registrations">(.*?)</ul>', page.text)[0]
    lines = re.findall(r"(?s)<li>(.*?)</li>", items)
    return [" ".join(re.sub(r"<[^>]+>", " ", line).split()) for line in lines]


def test_card_shows_each_registration_with_tier_date_and_via(testapp, registered):
    page = testapp.get("/my/card")
    assert "ふるさと住民登録証" in page.text
    assert "ふるさと 花子" in page.text
    assert "本人確認はまだです" in page.text
    entries = card_entries(page)
    assert len(entries) == 3
    city = next(e for e in entries if e.startswith("長野市"))
    prefecture = next(e for e in entries if e.startswith("長野県"))
    assert "ベーシック" in city and "2026年11月25日(水)から" in city and "経由" not in city
    assert "長野市経由" in prefecture


def test_card_shows_verification_and_at_home(testapp, dbsession, clock, app_settings, person):
    """Dates are Tokyo dates: 16:00 UTC on the 20th is already the 21st in Japan."""
    make_verification(dbsession, person, MATSUMOTO, name="本人 花子",
                      verified_at=datetime(2026, 11, 20, 16, 0, tzinfo=timezone.utc))
    RegistrationService(dbsession, clock=clock, settings=app_settings).register(
        person, make_site(dbsession, MATSUMOTO), [2], ["dual_residence"], {}
    )
    page = testapp.get("/my/card")
    assert "本人 花子" in page.text
    assert "2026年11月21日(土)にマイナンバーカードで本人確認済み" in page.text
    (entry,) = card_entries(page)
    assert "松本市" in entry and "居住地" in entry


def test_left_registrations_are_not_on_the_card(testapp, dbsession, clock, app_settings,
                                                registered):
    service = RegistrationService(dbsession, clock=clock, settings=app_settings)
    matsumoto = next(r for r in service.registrations_of(registered) if r.site.code == MATSUMOTO)
    service.leave(matsumoto)
    dbsession.flush()
    assert not any(e.startswith("松本市") for e in card_entries(testapp.get("/my/card")))


def test_card_is_printable_and_registers_its_worker_without_inline_script(testapp, registered):
    page = testapp.get("/my/card")
    assert re.search(r'<link rel="stylesheet" href="[^"]*/static/card\.css"', page.text)
    assert 'rel="manifest" href="http://localhost/my/manifest.webmanifest"' in page.text
    scripts = re.findall(r"(?s)<script([^>]*)>(.*?)</script>", page.text)
    assert scripts and all("src=" in attrs and body.strip() == "" for attrs, body in scripts)
    assert 'data-worker="http://localhost/my/sw.js"' in page.text
    assert 'data-scope="http://localhost/my/card"' in page.text
    assert 'id="print-card"' in page.text
    assert page.headers["Cache-Control"] == "no-store"

    css = testapp.get("/static/card.css")
    assert css.content_type == "text/css"
    assert "@media print" in css.text
    script = testapp.get("/static/card.js")
    assert script.content_type in ("text/javascript", "application/javascript")
    assert "serviceWorker" in script.text and "window.print" in script.text


def test_manifest_and_service_worker(testapp, registered):
    manifest = testapp.get("/my/manifest.webmanifest")
    assert manifest.content_type == "application/manifest+json"
    body = json.loads(manifest.body)
    assert body["start_url"] == "http://localhost/my/card"
    assert body["scope"] == "http://localhost/my/card"
    assert body["name"] == "ふるさと住民登録証"

    worker = testapp.get("/my/sw.js")
    assert worker.content_type == "text/javascript"
    assert "caches.match" in worker.text and '"fetch"' in worker.text


def test_my_page_lists_registrations_and_links(testapp, registered):
    page = testapp.get("/my/")
    for text in ("長野市", "長野県", "松本市", "長野市経由", "登録中", "ベーシック",
                 "/my/card", "/my/identity", "/my/data.json", "/my/delete"):
        assert text in page.text


@pytest.mark.parametrize("path", ["/my/", "/my/card", "/my/manifest.webmanifest", "/my/sw.js"])
def test_only_registrants_see_their_area(testapp, dbsession, clock, app_settings, path):
    assert testapp.get(path).location.startswith("http://localhost/signin?came_from=/my/")
    staff = make_staff(dbsession, make_site(dbsession, NAGANO_CITY), "editor")
    sign_in(testapp, dbsession, staff, clock, app_settings)
    assert testapp.get(path, expect_errors=True).status_int == 403
