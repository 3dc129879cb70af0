"""/join: a local government applies without an account; bad codes are refused with the reason."""
from furusato_cms.models import AuditEntry, Site

from ..factories import MATSUMOTO, make_site
from ..sites_factories import join_values


def _fill(page, **overrides):
    form = page.forms["deform"]
    for name, value in join_values(**overrides).items():
        form[name] = value
    return form


def test_application_is_received_and_recorded(testapp, dbsession):
    page = testapp.get("/join")
    assert "参画申請" in page.text or "申請" in page.text
    done = _fill(page, code="２０２０２９").submit("apply")
    assert "受け付けました" in done.text
    dbsession.expire_all()
    site = dbsession.query(Site).filter_by(code=MATSUMOTO).one()
    assert (site.state, site.kind, site.prefecture_code) == ("applied", "municipality", "20")
    entry = dbsession.query(AuditEntry).filter_by(site_id=site.id).one()
    assert entry.action == "site.apply" and entry.actor_id is None


def test_wrong_check_digit_is_refused_on_the_field(testapp, dbsession):
    page = _fill(testapp.get("/join"), code="202028").submit("apply", status=400)
    assert "検査数字" in page.text and "202029" not in page.text
    assert "20202" in page.text and "9" in page.text
    assert page.forms["deform"]["name"].value == "松本市"
    assert dbsession.query(Site).count() == 0


def test_unknown_prefecture_and_bad_format_have_their_own_messages(testapp):
    prefecture = _fill(testapp.get("/join"), code="482001").submit("apply", status=400)
    assert "都道府県" in prefecture.text
    short = _fill(testapp.get("/join"), code="12345").submit("apply", status=400)
    assert "6桁" in short.text


def test_code_already_taking_part_is_refused(testapp, dbsession):
    make_site(dbsession, MATSUMOTO)
    page = _fill(testapp.get("/join")).submit("apply", status=400)
    assert "すでに参加" in page.text


def test_rejected_site_may_apply_again(testapp, dbsession):
    site = make_site(dbsession, MATSUMOTO, state="rejected", joined_on=None)
    _fill(testapp.get("/join"), contact_email="new@city.example.jp").submit("apply")
    dbsession.expire_all()
    assert (site.state, site.contact_email) == ("applied", "new@city.example.jp")


def test_missing_fields_are_named(testapp):
    form = testapp.get("/join").forms["deform"]
    page = form.submit("apply", status=400)
    assert page.text.count("invalid-feedback") >= 5


def test_one_address_may_file_only_a_few_applications_at_a_time(testapp, dbsession,
                                                                 app_settings):
    from furusato_cms.localgov import check_digit

    codes = [f"{five}{check_digit(five)}" for five in
             ("20203", "20204", "20205", "20206", "20207", "20209", "20210")]
    limit = app_settings.signin_max_failures
    for code in codes[:limit]:
        assert "受け付けました" in _fill(testapp.get("/join"), code=code).submit("apply").text
    refused = _fill(testapp.get("/join"), code=codes[limit]).submit("apply", status=400)
    assert "しばらく受け付けを止めています" in refused.text
    assert refused.forms["deform"]["code"].value == codes[limit]
    assert dbsession.query(Site).count() == limit
    elsewhere = testapp.get("/join", extra_environ={"REMOTE_ADDR": "192.0.2.7"})
    done = _fill(elsewhere, code=codes[limit]).submit(
        "apply", extra_environ={"REMOTE_ADDR": "192.0.2.7"})
    assert "受け付けました" in done.text
