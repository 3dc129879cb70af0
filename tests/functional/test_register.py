"""Basic registration through the browser: questions, confirmation, done; /my/ with
editing answers and leaving."""
import pytest
from sqlalchemy import select

from furusato_cms.models import Registration
from furusato_cms.services.registration import RegistrationService

from ..factories import MATSUMOTO, NAGANO_CITY, NAGANO_PREF, make_site, make_staff, sign_in
from ..registrant_factories import make_registrant
from ..registration_factories import make_verification
from ..survey_factories import make_question

REGISTER = f"/s/{NAGANO_CITY}/register"


@pytest.fixture
def nagano(dbsession):
    return {
        "pref": make_site(dbsession, NAGANO_PREF),
        "city": make_site(dbsession, NAGANO_CITY),
        "matsumoto": make_site(dbsession, MATSUMOTO),
    }


@pytest.fixture
def questions(dbsession, nagano):
    return {
        "fruit": make_question(dbsession, nagano["city"], "single", label="好きな果物",
                               required=True),
        "comment": make_question(dbsession, nagano["city"], "text", label="ひとこと"),
    }


@pytest.fixture
def person(testapp, dbsession, clock, app_settings):
    account = make_registrant(dbsession, "furusato-person@example.jp")
    sign_in(testapp, dbsession, account, clock, app_settings)
    return account


def input_name(form, name):
    """deform names a radio group after its widget (``__start__ = <name>:rename`` comes
    first); other fields keep their own name."""
    order = form.field_order
    for index, (field_name, field) in enumerate(order):
        if field_name == "__start__" and field.value == f"{name}:rename":
            return order[index + 1][0]
    return name


TYPES = ("1", "2", "3", "4")


def fill(form, types=("4",), connections=("birthplace",), **answers):
    """Fill the deform form: the type checkboxes (a string is one type), the connection
    checkboxes and ``q<id>`` fields."""
    types = (types,) if isinstance(types, str) else tuple(types or ())
    for box in form.fields.get("checkbox", []):
        box.checked = box._value in types or box._value in connections
    for name, value in answers.items():
        form[input_name(form, name)] = value
    if "accept_privacy" in form.fields:
        form["accept_privacy"] = True
    return form


def value(form, name):
    return form[input_name(form, name)].value


def checked_types(form) -> set:
    return {box._value for box in form.fields["checkbox"] if box.checked and box._value in TYPES}


def registrations(dbsession, account):
    dbsession.expire_all()
    return {
        r.site.code: r for r in dbsession.scalars(
            select(Registration).where(Registration.account_id == account.id)
        )
    }


def test_anonymous_people_are_asked_to_sign_in(testapp, nagano):
    response = testapp.get(REGISTER)
    assert response.status_int == 302
    assert response.location.endswith("/signin?came_from=" + REGISTER)


def test_staff_accounts_cannot_register(testapp, dbsession, clock, app_settings, nagano):
    sign_in(testapp, dbsession, make_staff(dbsession, nagano["city"], "editor"), clock,
            app_settings)
    assert testapp.get(REGISTER, expect_errors=True).status_int == 403


def test_inactive_site_cannot_be_registered_with(testapp, dbsession, person):
    make_site(dbsession, NAGANO_CITY, state="suspended")
    assert testapp.get(REGISTER, expect_errors=True).status_int in (403, 404)


def test_form_confirm_register(testapp, dbsession, person, nagano, questions):
    page = testapp.get(REGISTER)
    assert "長野市のふるさと住民に登録する" in page.text
    assert "長野県にも登録されます" in page.text
    assert "好きな果物" in page.text and "ひとこと" in page.text
    fill(page.forms["deform"], ("2", "4"), ("birthplace", "family"),
         **{f"q{questions['fruit'].id}": "apple", f"q{questions['comment'].id}": "雪かき手伝います"})

    confirm = page.forms["deform"].submit("confirm")
    assert "回答の確認" in confirm.text
    assert "りんご" in confirm.text and "雪かき手伝います" in confirm.text
    assert "出身地" in confirm.text
    assert "類型②" in confirm.text and "類型④" in confirm.text and "類型①" not in confirm.text
    assert registrations(dbsession, person) == {}

    done = confirm.forms["confirm-registration"].submit("register")
    assert done.status_int == 303 and done.location.endswith("/my/")
    my = done.follow()
    assert "長野市のふるさと住民に登録しました。" in my.text
    assert "長野市経由" in my.text
    registered = registrations(dbsession, person)
    assert set(registered) == {NAGANO_CITY, NAGANO_PREF}
    city = registered[NAGANO_CITY]
    assert city.relationship_types == [2, 4] and city.connections == ["birthplace", "family"]
    assert registered[NAGANO_PREF].derived_from_id == city.id


def test_back_to_edit_keeps_everything(testapp, person, nagano, questions):
    page = testapp.get(REGISTER)
    fill(page.forms["deform"], "2", ("tourism", "side_job"),
         **{f"q{questions['fruit'].id}": "grape", f"q{questions['comment'].id}": "また来ます"})
    confirm = page.forms["deform"].submit("confirm")
    again = confirm.forms["confirm-registration"].submit("edit")
    form = again.forms["deform"]
    assert checked_types(form) == {"2"}
    assert {box._value for box in form.fields["checkbox"]
            if box.checked and box._value not in TYPES} == {"tourism", "side_job"}
    assert value(form, f"q{questions['fruit'].id}") == "grape"
    assert value(form, f"q{questions['comment'].id}") == "また来ます"


def test_field_errors_re_render_with_what_was_typed(testapp, dbsession, person, nagano,
                                                    questions):
    page = testapp.get(REGISTER)
    fill(page.forms["deform"], None, (), **{f"q{questions['comment'].id}": "途中まで"})
    response = page.forms["deform"].submit("confirm")
    assert response.status_int == 200
    assert "回答の確認" not in response.text
    assert "途中まで" in response.text
    assert response.text.count('class="invalid-feedback"') == 2
    assert "あてはまる類型を1つ以上選んでください。" in response.text

    fill(response.forms["deform"], "1", ("volunteering",),
         **{f"q{questions['comment'].id}": "途中まで"})
    missing_fruit = response.forms["deform"].submit("confirm")
    assert missing_fruit.text.count('class="invalid-feedback"') == 1
    assert "この質問に回答してください。" in missing_fruit.text
    assert "途中まで" in missing_fruit.text
    assert checked_types(missing_fruit.forms["deform"]) == {"1"}
    assert registrations(dbsession, person) == {}


def test_already_registered_gets_a_message_and_a_link(testapp, dbsession, person, nagano,
                                                      questions):
    page = testapp.get(REGISTER)
    fill(page.forms["deform"], **{f"q{questions['fruit'].id}": "apple"})
    confirm = page.forms["deform"].submit("confirm")
    confirm.forms["confirm-registration"].submit("register")
    registration = registrations(dbsession, person)[NAGANO_CITY]

    again = testapp.get(REGISTER)
    assert "長野市にはすでに登録しています" in again.text
    assert f"/my/registrations/{registration.id}" in again.text
    assert "deform" not in again.text

    twice = confirm.forms["confirm-registration"].submit("register")
    assert "すでに登録しています" in twice.text
    assert len(registrations(dbsession, person)) == 2


def test_a_derived_prefecture_can_be_registered_directly(testapp, dbsession, person, nagano):
    page = testapp.get(REGISTER)
    fill(page.forms["deform"]).submit("confirm").forms["confirm-registration"].submit("register")
    prefecture = testapp.get(f"/s/{NAGANO_PREF}/register")
    assert "長野市経由で長野県に登録されています" in prefecture.text
    fill(prefecture.forms["deform"], "3", ("furusato_nozei",)).submit("confirm") \
        .forms["confirm-registration"].submit("register")
    registered = registrations(dbsession, person)[NAGANO_PREF]
    assert registered.derived_from_id is None and registered.connections == ["furusato_nozei"]


def test_edit_answers_on_my_page(testapp, dbsession, person, nagano, questions):
    page = testapp.get(REGISTER)
    fill(page.forms["deform"], **{f"q{questions['fruit'].id}": "apple"}) \
        .submit("confirm").forms["confirm-registration"].submit("register")
    registration = registrations(dbsession, person)[NAGANO_CITY]

    edit = testapp.get(f"/my/registrations/{registration.id}")
    form = edit.forms["deform"]
    assert checked_types(form) == {"4"}
    assert value(form, f"q{questions['fruit'].id}") == "apple"
    fill(form, ("1", "3"), ("volunteering", "other"), **{f"q{questions['fruit'].id}": "peach"})
    saved = form.submit("save")
    assert saved.status_int == 303
    assert "長野市への回答を保存しました。" in saved.follow().text
    registration = registrations(dbsession, person)[NAGANO_CITY]
    assert registration.relationship_types == [1, 3]
    assert registration.connections == ["volunteering", "other"]

    bad = testapp.get(f"/my/registrations/{registration.id}")
    fill(bad.forms["deform"], "1", ())
    refused = bad.forms["deform"].submit("save")
    assert refused.status_int == 200 and "deform" in refused.text
    assert registrations(dbsession, person)[NAGANO_CITY].connections == ["volunteering", "other"]


def test_someone_elses_registration_is_not_found(testapp, dbsession, clock, app_settings,
                                                 person, nagano):
    other = make_registrant(dbsession, "other-person@example.jp")
    service = RegistrationService(dbsession, clock=clock, settings=app_settings)
    theirs = service.register(other, nagano["matsumoto"], [1], ["other"], {})
    assert testapp.get(f"/my/registrations/{theirs.id}", expect_errors=True).status_int == 404
    assert testapp.get(f"/my/registrations/{theirs.id}/leave",
                       expect_errors=True).status_int == 404
    for path in ("/my/registrations/99999999999", "/my/registrations/x"):
        assert testapp.get(path, expect_errors=True).status_int == 404


def test_leave_with_confirmation_and_register_again(testapp, dbsession, person, nagano):
    page = testapp.get(REGISTER)
    fill(page.forms["deform"]).submit("confirm").forms["confirm-registration"].submit("register")
    city = registrations(dbsession, person)[NAGANO_CITY]

    confirm = testapp.get(f"/my/registrations/{city.id}/leave")
    assert "長野市から退会しますか？" in confirm.text
    assert "長野市経由で登録された長野県の登録も終了します。" in confirm.text
    assert registrations(dbsession, person)[NAGANO_CITY].state == "active"

    left = confirm.forms["leave-registration"].submit()
    assert left.status_int == 303
    my = left.follow()
    assert "長野市から退会しました。" in my.text
    assert "退会済み" in my.text and f"/s/{NAGANO_CITY}/register" in my.text
    registered = registrations(dbsession, person)
    assert registered[NAGANO_CITY].state == "left" and registered[NAGANO_PREF].state == "left"

    rejoin = testapp.get(REGISTER)
    assert "以前長野市に登録していました" in rejoin.text
    assert checked_types(rejoin.forms["deform"]) == {"4"}
    rejoin.forms["deform"]["accept_privacy"] = True
    rejoin.forms["deform"].submit("confirm").forms["confirm-registration"].submit("register")
    assert registrations(dbsession, person)[NAGANO_CITY].state == "active"


def test_leaving_needs_a_post(testapp, dbsession, person, nagano):
    page = testapp.get(REGISTER)
    fill(page.forms["deform"]).submit("confirm").forms["confirm-registration"].submit("register")
    city = registrations(dbsession, person)[NAGANO_CITY]
    response = testapp.post(f"/my/registrations/{city.id}/leave", expect_errors=True)
    assert response.status_int == 400
    assert registrations(dbsession, person)[NAGANO_CITY].state == "active"


def test_types_are_required_and_re_rendered_with_their_message(testapp, dbsession, person,
                                                               nagano):
    page = testapp.get(REGISTER)
    for number in ("①", "②", "③", "④"):
        assert f"類型{number}" in page.text
    assert "地域産品の購入やふるさと納税等により経済的に貢献する" in page.text
    refused = fill(page.forms["deform"], ()).submit("confirm")
    assert "回答の確認" not in refused.text
    assert refused.text.count('class="invalid-feedback"') == 1
    assert checked_types(refused.forms["deform"]) == set()
    assert registrations(dbsession, person) == {}


def test_an_unknown_postal_code_re_renders_the_form_with_its_message(testapp, dbsession,
                                                                     person, nagano):
    page = testapp.get(REGISTER)
    assert "お住まいの郵便番号" in page.text
    form = fill(page.forms["deform"], ("1",))
    form["postal_code"] = "000-0000"
    refused = form.submit("confirm")
    assert refused.status_int == 200 and "回答の確認" not in refused.text
    assert "この郵便番号は見つかりませんでした" in refused.text
    assert refused.forms["deform"]["postal_code"].value == "000-0000"
    assert checked_types(refused.forms["deform"]) == {"1"}


def test_a_declared_postal_code_flags_home_and_is_not_asked_of_verified_people(
        testapp, dbsession, person, nagano):
    page = testapp.get(REGISTER)
    form = fill(page.forms["deform"], ("2",))
    form["postal_code"] = "３８０－０８５１"
    confirm = form.submit("confirm")
    assert "お住まい" in confirm.text and "長野市" in confirm.text
    confirm.forms["confirm-registration"].submit("register")
    registered = registrations(dbsession, person)
    assert registered[NAGANO_CITY].at_home is True and registered[NAGANO_PREF].at_home is True
    assert person.declared_home_code == NAGANO_CITY
    assert "お住まいは長野市と伺っています" in testapp.get(f"/s/{MATSUMOTO}/register").text

    make_verification(dbsession, person, MATSUMOTO)
    verified = testapp.get(f"/s/{MATSUMOTO}/register")
    assert "postal_code" not in verified.forms["deform"].fields


def test_the_postal_code_can_be_changed_on_the_answers_page(testapp, dbsession, person,
                                                            nagano):
    fill(testapp.get(REGISTER).forms["deform"]).submit("confirm") \
        .forms["confirm-registration"].submit("register")
    city = registrations(dbsession, person)[NAGANO_CITY]
    assert city.at_home is False
    form = testapp.get(f"/my/registrations/{city.id}").forms["deform"]
    form["postal_code"] = "3800851"
    assert form.submit("save").status_int == 303
    assert registrations(dbsession, person)[NAGANO_CITY].at_home is True
