"""A site looks like its town: its admin sets a logo, a header photo and an accent colour
(contrast-checked); the site's pages show them (issue 18 item 9)."""
import pytest
from sqlalchemy import select
from webtest import Upload

from furusato_cms.models import AuditEntry, Image

from ..content_factories import image_bytes
from ..factories import NAGANO_CITY, make_site
from ..sites_factories import signed_in_staff

BASE = f"/s/{NAGANO_CITY}"
LOGO, HEADER = 0, 1
"""deform names each file widget's input ``upload`` inside its own mapping, in form order."""


@pytest.fixture
def site(dbsession):
    return make_site(dbsession, NAGANO_CITY)


@pytest.fixture
def as_admin(testapp, dbsession, clock, app_settings, site):
    return signed_in_staff(testapp, dbsession, clock, app_settings, site, "site_admin")


def _form(testapp):
    return testapp.get(f"{BASE}/branding").forms["deform"]


def test_the_dashboard_links_to_the_look_of_the_site(testapp, as_admin):
    assert f"{BASE}/branding" in testapp.get(f"{BASE}/manage").text


def test_only_the_site_admin_edits_it(testapp, dbsession, clock, app_settings, site):
    signed_in_staff(testapp, dbsession, clock, app_settings, site, "editor")
    testapp.get(f"{BASE}/branding", status=403)


def test_a_light_colour_is_refused_on_its_field_and_nothing_changes(testapp, dbsession,
                                                                     site, as_admin):
    form = _form(testapp)
    form["accent_color"] = "#ffd43d"
    page = form.submit(status=400)
    assert "コントラスト比が" in page.text and "4.5:1以上が必要です" in page.text
    error = page.html.select_one(".invalid-feedback")
    assert error is not None and "もっと濃い色" in error.text
    assert page.html.select_one("input[name=accent_color]")["value"] == "#ffd43d"
    dbsession.refresh(site)
    assert site.accent_color is None


def test_a_dark_colour_is_kept_and_colours_every_page_of_the_site(testapp, dbsession, site,
                                                                  as_admin):
    form = _form(testapp)
    form["accent_color"] = "＃1D5B3A"
    form.submit(status=303)
    dbsession.refresh(site)
    assert site.accent_color == "#1d5b3a"
    page = testapp.get(f"{BASE}/")
    link = page.html.select_one("link[href*='brand.css']")["href"]
    css = testapp.get(link)
    assert css.content_type == "text/css" and "--color-brand: #1d5b3a" in css.text
    entry = dbsession.scalar(select(AuditEntry).where(AuditEntry.action == "site.branding"))
    assert entry.detail["changed"] == ["accent_color"]


def test_logo_and_header_photo_are_uploaded_through_the_image_service(testapp, dbsession,
                                                                      site, as_admin):
    form = _form(testapp)
    form.set("upload", Upload("logo.png", image_bytes("PNG", (64, 64)), "image/png"), index=LOGO)
    form.set("upload", Upload("town.jpg", image_bytes("JPEG", (1200, 400)), "image/jpeg"),
             index=HEADER)
    form["header_alt"] = "りんご畑と北アルプス"
    form.submit(status=303)
    dbsession.refresh(site)
    images = {i.public_key: i for i in dbsession.scalars(select(Image))}
    assert site.logo_key in images and site.header_image_key in images
    assert images[site.header_image_key].alt_text == "りんご畑と北アルプス"
    page = testapp.get(f"{BASE}/")
    hero = page.html.select_one(".site-hero-photo")
    assert hero["src"].endswith(site.header_image_key) and hero["alt"] == "りんご畑と北アルプス"
    logo = page.html.select_one(".brand-logo")
    assert logo["src"].endswith(site.logo_key) and logo["alt"] == ""
    testapp.get(hero["src"], status=200)


def test_a_header_photo_needs_its_description(testapp, dbsession, site, as_admin):
    form = _form(testapp)
    form.set("upload", Upload("town.png", image_bytes("PNG", (300, 100)), "image/png"),
             index=HEADER)
    page = form.submit(status=400)
    assert "ヘッダー画像の説明を入力してください" in page.text
    dbsession.refresh(site)
    assert site.header_image_key is None


def test_a_file_that_is_not_an_image_is_refused_on_the_logo_field(testapp, site, as_admin):
    form = _form(testapp)
    form.set("upload", Upload("logo.png", b"MZ not a picture", "image/png"), index=LOGO)
    page = form.submit(status=400)
    item = page.html.select_one(".invalid-feedback")
    assert item is not None and "画像" in item.text


def test_removing_the_logo_and_the_colour(testapp, dbsession, site, as_admin):
    site.accent_color, site.logo_key = "#115a36", "x" * 22
    dbsession.flush()
    form = _form(testapp)
    form["accent_color"] = ""
    form["remove_logo"] = True
    form.submit(status=303)
    dbsession.refresh(site)
    assert site.accent_color is None and site.logo_key is None
    assert "brand.css" not in testapp.get(f"{BASE}/").text


def test_the_footer_names_the_contact_once_and_links_the_phone(testapp, dbsession, site):
    site.contact_department, site.contact_name = "企画政策部 ふるさと推進課", "ふるさと推進課"
    site.contact_phone = "026-224-5000"
    dbsession.flush()
    footer = testapp.get(f"{BASE}/").html.select_one("footer")
    line = footer.select_one("p").get_text(" ", strip=True)
    assert line.count("ふるさと推進課") == 1 and line.startswith("長野市 企画政策部")
    assert footer.select_one("a[href='tel:0262245000']") is not None
    assert "自治体の方へ" in footer.text


def test_staff_and_my_pages_have_no_link_for_local_governments(testapp, as_admin):
    assert "自治体の方へ" not in testapp.get(f"{BASE}/manage").text
