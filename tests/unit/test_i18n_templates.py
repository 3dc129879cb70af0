"""Templates translate through furusato_cms.i18n's ``TemplateGettext`` (Jinja2's ``_``)
and ``translator`` (their ``translate``), which look messages up in the localizer's
catalogues without pyramid's per-call TranslationString (issue 16). Pyramid's
``Localizer.translate`` is the reference: every message of both catalogues, with and
without a mapping, in furusato's, colander's and deform's domains, must come out the same."""
import os

import pytest
from markupsafe import Markup
from pyramid import testing
from pyramid.i18n import TranslationString, make_localizer
from pyramid.path import AssetResolver
from translationstring import TranslationStringFactory

from furusato_cms import i18n
from furusato_cms.i18n import TemplateGettext, translate, translator

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DIRS = [AssetResolver().resolve(spec).abspath() for spec in ("colander:locale/", "deform:locale/")]
DIRS.append(os.path.join(ROOT, "locale"))
COLANDER = TranslationStringFactory("colander")


def catalogue_ids(localizer, domain):
    catalogue = localizer.translations._domains[domain]._catalog
    return sorted(key for key in catalogue if isinstance(key, str))


@pytest.fixture(scope="module", params=i18n.LOCALES + ("fr",))
def localizer(request):
    return make_localizer(request.param, DIRS)


@pytest.fixture
def gettext(localizer):
    request = testing.DummyRequest()
    request.localizer = localizer
    testing.setUp(request=request)
    yield TemplateGettext("furusato").gettext
    testing.tearDown()


MAPPING = {"n": 3, "title": "<b>A & B</b>", "amount": 1200, "slug": "$x", "name": None}
ODD = ["", "Home", "Not a message we have", "${n} unread", "$n and ${n} and $$n and ${unknown}",
       "$", "${}", "100$", "${name}"]


JA = make_localizer("ja", DIRS)


def ids_of(localizer, domain):
    """Every message Japanese has in ``domain`` (English is the source language: its
    catalogue holds few), and those ``localizer`` has besides."""
    ids = set(catalogue_ids(JA, domain))
    if domain in localizer.translations._domains:
        ids.update(catalogue_ids(localizer, domain))
    return sorted(ids)


def test_the_catalogues_are_there(localizer):
    assert len(ids_of(localizer, "furusato")) > 1000
    assert len(ids_of(localizer, "colander")) > 10 and len(ids_of(localizer, "deform")) > 5
    assert ("furusato" in localizer.translations._domains) == (localizer.locale_name != "fr")


def test_template_underscore_translates_every_message_as_pyramid(localizer, gettext):
    messages = ids_of(localizer, "furusato") + ODD
    for message in messages:
        expected = localizer.translate(message, domain="furusato")
        assert gettext(message) == expected, message
        expected = localizer.translate(message, domain="furusato", mapping=MAPPING)
        assert gettext(message, mapping=MAPPING) == expected, message
        assert gettext(message, mapping={}) == localizer.translate(
            message, domain="furusato", mapping={})


def test_template_underscore_with_translation_strings_and_markup(localizer, gettext):
    for message in (i18n._("${n} unread", mapping={"n": 2}), COLANDER("Required"),
                    TranslationString("x", default="Default ${n}", mapping={"n": 1}),
                    Markup("Home"), TranslationString("Home", context="menu")):
        for mapping in (None, {"n": 5}):
            assert gettext(message, mapping=mapping) == localizer.translate(
                message, domain="furusato", mapping=mapping)


def test_the_interpolated_example(gettext, localizer):
    text = gettext("${n} unread", mapping={"n": 3})
    assert text == {"ja": "未読3件", "en": "3 unread", "fr": "3 unread"}[localizer.locale_name]


@pytest.mark.parametrize("domain", ["furusato", "colander", "deform"])
def test_translate_gives_what_the_localizer_gives(localizer, domain):
    fast = translator(localizer)
    factory = TranslationStringFactory(domain)
    for message in ids_of(localizer, domain) + ODD:
        cases = [
            ((message,), {}),
            ((message,), {"domain": domain}),
            ((message,), {"domain": domain, "mapping": MAPPING}),
            ((factory(message),), {}),
            ((factory(message, mapping=MAPPING),), {}),
            ((factory(message, mapping=MAPPING),), {"mapping": {"n": 9}}),
            ((factory(message, default="Fallback ${n}", mapping=MAPPING),), {}),
            ((factory(message, context="ctx"),), {}),
            ((TranslationString(message),), {}),
            ((TranslationString(message),), {"domain": domain}),
            ((TranslationString(message, domain=""),), {}),
        ]
        for args, kwargs in cases:
            assert fast(*args, **kwargs) == localizer.translate(*args, **kwargs), (args, kwargs)
            assert translate(localizer, *args, **kwargs) == localizer.translate(*args, **kwargs)


def test_translate_leaves_other_catalogue_kinds_to_the_localizer():
    class Localizer:
        translations = None

        def translate(self, tstring, domain=None, mapping=None):
            return ("pyramid", tstring, domain, mapping)

    assert translate(Localizer(), "Home", "furusato", {"n": 1}) == (
        "pyramid", "Home", "furusato", {"n": 1})


def test_templates_of_the_app_use_it(app):
    from pyramid_jinja2 import IJinja2Environment

    env = app.registry.queryUtility(IJinja2Environment, name=".jinja2")
    assert isinstance(env.globals["gettext"].__self__, TemplateGettext)
    assert env.globals["gettext"].__self__.domain == "furusato"


@pytest.mark.parametrize("text", [
    "Since ${date}", "$a and ${b} $$c ${unknown} $x-y", "a lone $", "${a}${a}$a", "$", "x $ a",
])
def test_interpolation_replaces_as_translation_strings_do(text):
    mapping = {"date": "2026年1月1日", "a": "<", "b": 2, "x-y": "XY"}
    expected = TranslationString(text, mapping=mapping).interpolate()
    assert i18n._interpolate(text, mapping) == expected
