"""Editors manage the site's own survey questions; site admins export the answers."""
import csv
import io

import pytest
from sqlalchemy import select

from furusato_cms.models import AuditEntry, SurveyQuestion

from ..access import csrf_token
from ..content_factories import signed_in_staff
from ..factories import MATSUMOTO, NAGANO_CITY, make_account, make_site, make_staff, sign_in
from ..survey_factories import make_answer, make_question, make_registration

BASE = f"/s/{NAGANO_CITY}/survey/"


@pytest.fixture
def site(dbsession):
    return make_site(dbsession, NAGANO_CITY)


@pytest.fixture
def as_editor(testapp, dbsession, site, clock, app_settings):
    return signed_in_staff(testapp, dbsession, site, clock, app_settings, "editor")


@pytest.fixture
def as_admin(testapp, dbsession, site, clock, app_settings):
    return signed_in_staff(testapp, dbsession, site, clock, app_settings, "site_admin")


def posting_to(page, action_end):
    return next(f for f in page.forms.values() if (f.action or "").endswith(action_end))


def questions_in_db(dbsession, site):
    dbsession.expire_all()
    return list(dbsession.scalars(
        select(SurveyQuestion).where(SurveyQuestion.site_id == site.id)
        .order_by(SurveyQuestion.position, SurveyQuestion.id)
    ))


def add_question(testapp, status=303, **fields):
    form = testapp.get(BASE + "new").forms["deform"]
    for name, value in fields.items():
        form[name] = value
    return form.submit("save", status=status)


def test_editor_adds_questions_and_sees_them_in_order(testapp, dbsession, site, as_editor):
    page = add_question(testapp, kind="single", label="よく来る季節", choices="春\n夏\n秋\n冬",
                        required=True).follow()
    assert "質問を一覧の最後に追加しました" in page.text
    season = questions_in_db(dbsession, site)[0]
    form = testapp.get(BASE + "new").forms["deform"]
    form["kind"] = "text"
    form["label"] = "冬に来る理由"
    form["show_if"] = f"{season.id}:c4"
    page = form.submit("save", status=303).follow()

    first, second = questions_in_db(dbsession, site)
    assert (first.label, first.kind, first.required) == ("よく来る季節", "single", True)
    assert [c["label"] for c in first.choices] == ["春", "夏", "秋", "冬"]
    assert (second.show_if_question_id, second.show_if_choice) == (first.id, "c4")
    rows = page.html.select("tbody tr")
    assert "よく来る季節" in rows[0].text and "単一選択" in rows[0].text
    assert "冬に来る理由" in rows[1].text and "「よく来る季節」で「冬」を選んだとき" in rows[1].text


def test_a_scale_question_starts_from_one_to_five(testapp, dbsession, site, as_editor):
    add_question(testapp, kind="scale", label="満足度")
    (scale,) = questions_in_db(dbsession, site)
    assert (scale.kind, scale.scale_min, scale.scale_max, scale.choices) == ("scale", 1, 5, [])


def test_the_new_form_offers_earlier_choice_questions_only_and_needs_no_script(
    testapp, dbsession, site, as_editor
):
    make_question(dbsession, site, "single", label="果物")
    make_question(dbsession, site, "text", label="感想")
    page = testapp.get(BASE + "new")
    groups = [g["label"] for g in page.html.select('select[name="show_if"] optgroup')]
    assert groups == ["果物"]
    assert "<script" not in page.text


@pytest.mark.parametrize("fields, message", [
    ({"kind": "single", "label": "", "choices": "a\nb"}, "質問文を入力してください"),
    ({"kind": "multiple", "label": "果物", "choices": "りんご"}, "2つ以上入力してください"),
    ({"kind": "single", "label": "果物", "choices": "a: りんご\na: もも"}, "重複"),
    ({"kind": "scale", "label": "満足度", "scale_min": "5", "scale_max": "3"}, "最小値"),
])
def test_bad_input_re_renders_with_the_message_and_what_was_typed(testapp, dbsession, site,
                                                                   as_editor, fields,
                                                                   message):
    page = add_question(testapp, status=400, **fields)
    assert message in page.text
    assert page.forms["deform"]["label"].value == fields["label"]
    assert questions_in_db(dbsession, site) == []


def test_a_forged_condition_is_refused(testapp, dbsession, site, as_editor):
    later = make_question(dbsession, site, "text", label="感想")
    form = testapp.get(BASE + "new").forms["deform"]
    form["label"] = "果物"
    form["choices"] = "りんご\nもも"
    fields = dict(form.submit_fields())
    for value, message in (("nonsense", "表示条件を一覧から選んでください"),
                           (f"{later.id}:c1", "この質問より前にある")):
        fields["show_if"] = value
        page = testapp.post(BASE + "new", fields, status=400)
        assert message in page.html.select_one(".item-show_if .invalid-feedback").text
    assert questions_in_db(dbsession, site) == [later]


def test_editing_keeps_answered_options(testapp, dbsession, site, as_editor):
    fruit = make_question(dbsession, site, "single", label="果物")
    make_answer(dbsession, make_registration(dbsession, site), fruit, {"choice": "grape"})
    page = testapp.get(f"{BASE}{fruit.id}/edit")
    form = page.forms["deform"]
    assert form["choices"].value == "apple: りんご\ngrape: ぶどう\npeach: もも"
    assert "kind" not in form.fields and "scale_min" not in form.fields

    form["choices"] = "apple: りんご\npeach: もも"
    refused = form.submit("save", status=409)
    assert "次の選択肢には回答があるため削除できません：ぶどう" in refused.text

    form = refused.forms["deform"]
    form["choices"] = "apple: りんご\ngrape: 巨峰\npeach: もも"
    form["label"] = "好きな果物"
    form.submit("save", status=303)
    dbsession.expire_all()
    assert fruit.label == "好きな果物"
    assert fruit.choices[1] == {"key": "grape", "label": "巨峰"}


def test_moving_retiring_and_restoring_from_the_list(testapp, dbsession, site, as_editor):
    first = make_question(dbsession, site, "text", label="一つ目")
    second = make_question(dbsession, site, "text", label="二つ目")
    make_answer(dbsession, make_registration(dbsession, site), first, {"text": "はい"})

    page = testapp.get(BASE)
    posting_to(page, f"/{second.id}/move").submit("direction", value="up", status=303)
    assert questions_in_db(dbsession, site) == [second, first]

    page = posting_to(testapp.get(BASE), f"/{first.id}/retire").submit(status=303).follow()
    assert "回答は保存されています" in page.text
    dbsession.expire_all()
    assert first.retired_at is not None
    row = page.html.select("tbody tr")[1]
    assert "使用終了" in row.text and row.select("td")[6].text.strip() == "1"

    posting_to(page, f"/{first.id}/restore").submit(status=303)
    dbsession.expire_all()
    assert first.retired_at is None


def test_a_refused_list_action_shows_the_reason(testapp, dbsession, site, as_editor):
    fruit = make_question(dbsession, site, "single", label="果物")
    make_question(dbsession, site, "text", label="品種", show_if=(fruit, "apple"))
    page = posting_to(testapp.get(BASE), f"/{fruit.id}/retire").submit(status=403)
    assert "品種" in page.html.select_one('[role="alert"]').text
    dbsession.expire_all()
    assert fruit.retired_at is None


def test_another_sites_question_is_not_found(testapp, dbsession, site, as_editor):
    other = make_question(dbsession, make_site(dbsession, MATSUMOTO), "text")
    testapp.get(f"{BASE}{other.id}/edit", status=404)


# -- export ----------------------------------------------------------------------


def test_site_admin_downloads_the_answers_as_csv_for_excel(testapp, dbsession, site, as_admin):
    fruit = make_question(dbsession, site, "multiple", label="好きな果物")
    people = [make_registration(dbsession, site, connections=["tourism"]) for _n in range(3)]
    make_answer(dbsession, people[0], fruit, {"choices": ["apple", "grape"]})
    make_registration(dbsession, site, state="left")

    response = testapp.get(BASE + "answers.csv")

    assert response.content_type == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response.headers["Cache-Control"]
    assert response.body.startswith(b"\xef\xbb\xbf")
    header, *rows = list(csv.reader(io.StringIO(response.body.decode("utf-8-sig"))))
    assert header[0] == "登録番号" and header[-1] == "好きな果物"
    assert [row[0] for row in rows] == [str(p.id) for p in people]
    assert rows[0][-1] == "りんご / ぶどう" and rows[0][4] == "観光・訪問"
    entry = dbsession.scalar(select(AuditEntry).where(AuditEntry.action == "survey.export"))
    assert entry.actor_id == as_admin.id and entry.site_id == site.id


def test_the_list_offers_the_download_to_site_admins_only(testapp, dbsession, site, clock,
                                                          app_settings):
    editor = make_staff(dbsession, site, "editor")
    sign_in(testapp, dbsession, editor, clock, app_settings)
    assert "answers.csv" not in testapp.get(BASE).text
    admin = make_staff(dbsession, site, "site_admin")
    sign_in(testapp, dbsession, admin, clock, app_settings)
    assert "answers.csv" in testapp.get(BASE).text


ACCESS = {
    # role: (may manage questions, may export)
    "anonymous": (False, False),
    "registrant": (False, False),
    "site_admin": (True, True),
    "editor": (True, False),
    "reviewer": (True, False),
    "coordinator": (False, False),
    "other_site_admin": (False, False),
}


@pytest.mark.parametrize("role", ACCESS)
def test_who_may_manage_and_export(testapp, dbsession, site, clock, app_settings, role):
    question = make_question(dbsession, site, "single")
    account = {
        "anonymous": None,
        "registrant": lambda: make_account(dbsession, "p@example.jp", kind="registrant"),
        "site_admin": lambda: make_staff(dbsession, site, "site_admin"),
        "editor": lambda: make_staff(dbsession, site, "editor"),
        "reviewer": lambda: make_staff(dbsession, site, "editor", is_reviewer=True),
        "coordinator": lambda: make_staff(dbsession, site, "coordinator"),
        "other_site_admin": lambda: make_staff(dbsession, make_site(dbsession, MATSUMOTO),
                                               "site_admin"),
    }[role]
    if account:
        sign_in(testapp, dbsession, account(), clock, app_settings)
    may_manage, may_export = ACCESS[role]

    def allowed(response):
        if response.status_int in (403, 404):
            return False
        if response.status_int in (301, 302, 303):
            return "/signin" not in response.location
        assert response.status_int in (200, 400), response.status
        return True

    outcomes = {
        url: allowed(testapp.get(url, expect_errors=True))
        for url in (BASE, BASE + "new", f"{BASE}{question.id}/edit")
    }
    outcomes["csv"] = allowed(testapp.get(BASE + "answers.csv", expect_errors=True))
    token = csrf_token(testapp)
    for action in ("new", f"{question.id}/move", f"{question.id}/retire"):
        outcomes[action] = allowed(
            testapp.post(BASE + action, {"csrf_token": token}, expect_errors=True))

    assert outcomes == {
        BASE: may_manage, BASE + "new": may_manage, f"{BASE}{question.id}/edit": may_manage,
        "csv": may_export,
        "new": may_manage, f"{question.id}/move": may_manage,
        f"{question.id}/retire": may_manage,
    }
    dbsession.expire_all()
    assert (question.retired_at is not None) == may_manage
