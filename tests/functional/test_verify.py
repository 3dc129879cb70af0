"""The card's QR codes and checking them at /verify (online, offline pieces, the script)."""
import json
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from html import unescape

import pytest

from ..card_factories import make_registration
from ..conftest import NOW
from ..factories import MATSUMOTO, NAGANO_CITY, make_site, sign_in
from ..registrant_factories import make_registrant

UNTIL = datetime(2027, 11, 24, 15, 30, tzinfo=timezone.utc)
"""00:30 on 25 November 2027 in Tokyo."""
NAME, EMAIL = "確認 花子", "holder@example.jp"


@pytest.fixture
def person(dbsession):
    return make_registrant(dbsession, EMAIL, name=NAME)


@pytest.fixture
def registrations(dbsession, person):
    """Premium with 松本市 (which uses the long-stay mark), basic with 長野市 (which does not,
    though the registration has the flag)."""
    matsumoto = make_site(dbsession, MATSUMOTO, long_stay_enabled=True)
    nagano = make_site(dbsession, NAGANO_CITY, long_stay_enabled=False)
    return {
        "premium": make_registration(dbsession, person, matsumoto, tier="premium",
                                     premium_until=UNTIL, long_stay=True),
        "basic": make_registration(dbsession, person, nagano, long_stay=True),
    }


@pytest.fixture
def card_page(testapp, dbsession, clock, app_settings, person, registrations):
    sign_in(testapp, dbsession, person, clock, app_settings)
    page = testapp.get("/my/card")
    testapp.reset()
    return page


def entry(page, site_name) -> str:
    """The card's line for one site, as HTML."""
    items = re.findall(r"(?s)<li>(.*?)</li>", page.text)
    return next(item for item in items if f'<span class="card-site">{site_name}<' in item)


def statement_in(html) -> str:
    return unescape(re.search(r'data-statement="([^"]+)"', html).group(1))


def test_card_shows_tier_validity_long_stay_and_a_qr_per_registration(card_page):
    premium, basic = entry(card_page, "松本市"), entry(card_page, "長野市")
    assert "プレミアム" in premium and "プレミアム登録の有効期限：2027年11月25日" in premium
    assert "長期滞在者" in premium
    assert "ベーシック" in basic and "有効期限" not in basic.split("<figure")[0]
    assert "長期滞在者" not in basic, "長野市 does not use the long-stay mark"
    for html in (premium, basic):
        assert re.search(r'<img src="data:image/svg\+xml[^"]+"', html)
        assert "施設などでの確認用です。12:05まで有効です。" in html
        assert 'data-expires="2026-11-25T03:05:00+00:00"' in html
        assert 'href="http://localhost/my/card"' in html and "新しいQRコードを表示" in html
    assert statement_in(premium) != statement_in(basic)
    assert card_page.text.count('class="card-qr no-print"') == 2
    assert re.search(r'<script src="[^"]*/static/card-qr\.js" defer></script>', card_page.text)


def test_verify_shows_only_valid_site_tier_and_expiry(testapp, card_page):
    page = testapp.get("/verify", {"s": statement_in(entry(card_page, "松本市"))})
    main = page.text.split('<main id="main"')[1]
    assert "verdict-valid" in main and "有効" in main and "無効" not in main
    for text in ("松本市", "プレミアム", "長期滞在者", "2027年11月25日", "2026年11月25日(水) 12:05"):
        assert text in main
    for private in (NAME, EMAIL, "長野市"):
        assert private not in page.text
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "same-origin"


def test_basic_card_verifies_without_premium_expiry(testapp, card_page):
    page = testapp.get("/verify", {"s": statement_in(entry(card_page, "長野市"))})
    assert "verdict-valid" in page.text and "ベーシック" in page.text
    assert re.search(r'data-claim-row="premium_until" hidden', page.text)
    assert re.search(r'data-claim="long_stay" hidden', page.text)


def test_pasting_the_whole_link_into_the_form_verifies(testapp, card_page):
    form = testapp.get("/verify").forms["verify-form"]
    assert form.method.lower() == "get" and "csrf_token" not in form.fields
    form["s"] = "http://localhost/verify?s=" + statement_in(entry(card_page, "松本市"))
    assert "verdict-valid" in form.submit().text


def altered(statement) -> str:
    """The statement with one character of its signature changed."""
    position = statement.index(".") + 10
    swapped = "B" if statement[position] == "A" else "A"
    return statement[:position] + swapped + statement[position + 1:]


@pytest.mark.parametrize("change", [altered, lambda s: "x" + s, lambda s: s + "A"])
def test_altered_code_is_invalid(testapp, card_page, change):
    page = testapp.get("/verify", {"s": change(statement_in(entry(card_page, "松本市")))})
    assert "verdict-invalid" in page.text and "無効" in page.text
    assert "確認できませんでした" in page.text
    assert "松本市" not in page.text and "verdict-valid\"" not in page.text


def test_expired_code_is_invalid_and_says_to_refresh(testapp, clock, card_page):
    statement = statement_in(entry(card_page, "松本市"))
    clock.advance(timedelta(minutes=5))
    page = testapp.get("/verify", {"s": statement})
    assert "verdict-invalid" in page.text and "有効期限が切れています" in page.text
    assert "松本市" not in page.text


def test_verify_without_code_shows_the_form_only(testapp):
    page = testapp.get("/verify")
    assert "登録証の確認" in page.text and 'name="s"' in page.text
    assert "verdict-area" not in page.text
    assert testapp.post("/verify", expect_errors=True).status_int in (400, 403, 404)


def test_keys_are_published_and_the_script_agrees_with_the_server(testapp, tmp_path,
                                                                 card_page):
    keys = testapp.get("/verify/keys.json")
    assert keys.content_type == "application/json"
    assert keys.headers["Access-Control-Allow-Origin"] == "*"
    assert "max-age=300" in keys.headers["Cache-Control"]
    published = keys.json["keys"]
    assert published and all(k["kty"] == "OKP" and k["crv"] == "Ed25519" and "d" not in k
                             for k in published)
    keys_file = tmp_path / "keys.json"
    keys_file.write_text(keys.text, encoding="utf-8")
    statement = statement_in(entry(card_page, "松本市"))

    valid = run_script(keys_file, statement, NOW + timedelta(minutes=1))
    assert valid.returncode == 0
    assert json.loads(valid.stdout) == {
        "valid": True, "site": "松本市", "site_code": MATSUMOTO, "tier": "premium",
        "premium_until": "2027-11-25", "long_stay": True,
        "expires_at": "2026-11-25T03:05:00+00:00",
    }
    assert "verdict-valid" in testapp.get("/verify", {"s": statement}).text

    late = run_script(keys_file, "http://localhost/verify?s=" + statement,
                      NOW + timedelta(minutes=6))
    assert late.returncode == 1 and json.loads(late.stdout) == {"valid": False,
                                                               "reason": "expired"}
    forged = run_script(keys_file, altered(statement), NOW + timedelta(minutes=1))
    assert json.loads(forged.stdout) == {"valid": False, "reason": "bad_signature"}
    assert "verdict-invalid" in testapp.get("/verify", {"s": altered(statement)}).text


def run_script(keys_file, statement, at):
    return subprocess.run(
        [sys.executable, "-m", "furusato_cms.scripts.verify_card", str(keys_file), statement,
         "--at", at.isoformat()],
        capture_output=True, text=True, timeout=60, check=False,
    )


def test_offline_checker_page_script_and_worker(testapp):
    page = testapp.get("/verify/offline")
    assert 'id="offline-verifier"' in page.text and 'action="http://localhost/verify"' in page.text
    scripts = re.findall(r"(?s)<script([^>]*)>(.*?)</script>", page.text)
    assert scripts and all("src=" in attrs and body.strip() == "" for attrs, body in scripts)
    assert 'data-keys="http://localhost/verify/keys.json"' in page.text
    assert "Ed25519" in page.text, "the page can say when the browser lacks Ed25519"
    for reason in ("expired", "not_yet_valid", "not_genuine"):
        assert f'data-reason="{reason}" hidden' in page.text

    script = testapp.get("/static/verify-offline.js")
    assert 'name: "Ed25519"' in script.text and "localStorage" in script.text
    worker = testapp.get("/verify/sw.js")
    assert worker.content_type == "text/javascript"
    assert worker.headers["Service-Worker-Allowed"] == "/verify"
    assert '"fetch"' in worker.text
