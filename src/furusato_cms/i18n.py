"""Japanese by default, English selectable; the choice is kept in a cookie.

Templates translate through ``TemplateGettext`` (Jinja2's ``_``, the ``gettext`` of
pyramid_jinja2's ``jinja2.i18n.gettext`` setting) and ``translator(localizer)`` (their
``translate``). Both give what ``Localizer.translate`` gives, but for the common cases
(a plain string, or a translation string without a context) they look the message up in
the localizer's catalogues directly, and interpolate ``${name}`` only when a mapping is
given: pyramid's way builds a TranslationString and a policy call around every lookup
(about 8 µs; a page makes some sixty). Nothing is cached but what pyramid already
keeps: one localizer, with its read-only catalogues, per locale."""
from functools import lru_cache, partial

from pyramid.i18n import Translations, TranslationString, TranslationStringFactory
from pyramid.threadlocal import get_current_request
from translationstring import _interp_regex

_ = TranslationStringFactory("furusato")

LOCALES = ("ja", "en")
DEFAULT_LOCALE = "ja"
LOCALE_COOKIE = "_LOCALE_"


def locale_negotiator(request):
    """The API speaks the caller's ``Accept-Language``; pages follow the visitor's cookie."""
    if request.path_info.startswith("/api/v1/"):
        return request.accept_language.lookup(LOCALES, default=DEFAULT_LOCALE)
    chosen = request.cookies.get(LOCALE_COOKIE)
    return chosen if chosen in LOCALES else DEFAULT_LOCALE


@lru_cache(maxsize=4096)
def _placeholders(translated: str) -> tuple:
    """``translated`` split at its placeholders by ``TranslationString``'s own pattern:
    text, then per placeholder its whole, ``$name`` and ``${name}`` groups and the text
    after it. A message's translation is split once, not searched on every page."""
    return tuple(_interp_regex.split(translated))


def _interpolate(translated: str, mapping) -> str:
    """``${name}`` and ``$name`` replaced as ``TranslationString.interpolate`` does it
    (an unknown name stays as written), without building one."""
    if mapping and translated and "$" in translated:
        parts = _placeholders(translated)
        out = [parts[0]]
        for index in range(1, len(parts), 4):
            whole, name, braced, text = parts[index:index + 4]
            out.append(str(mapping.get(name or braced, whole)))
            out.append(text)
        return "".join(out)
    return translated


def translate(localizer, tstring, domain=None, mapping=None):
    """``localizer.translate(tstring, domain, mapping)``, the same string, without its
    per-call objects when ``tstring`` is a plain string or a translation string without
    a context and no extra mapping (pyramid's Translations catalogues only)."""
    translations = localizer.translations
    if type(translations) is Translations:
        kind = type(tstring)
        if kind is str:
            if domain is None:
                domain = translations.domain or "messages"
            return _interpolate(translations.dugettext(domain, tstring), mapping)
        if kind is TranslationString and not mapping and not tstring.context:
            domain = domain or tstring.domain
            if domain is None:
                domain = translations.domain or "messages"
            translated = translations.dugettext(domain, tstring)
            if translated == tstring:
                translated = tstring.default
            if translated and "$" in translated and tstring.mapping:
                translated = tstring.interpolate(translated)
            return translated
    return localizer.translate(tstring, domain=domain, mapping=mapping)


def translator(localizer):
    """The ``translate`` templates get: ``localizer.translate`` with the fast path."""
    return partial(translate, localizer)


def template_gettext(localizer, domain, message, mapping=None):
    """What a template's ``_(message)`` gives in the localizer's language: also used when
    a template is compiled for one language (templating.py), so both agree."""
    translations = localizer.translations
    if type(message) is str and type(translations) is Translations and domain:
        translated = translations.dugettext(domain, message)
        return _interpolate(translated, mapping) if mapping else translated
    return localizer.translate(message, domain=domain, mapping=mapping)


class TemplateGettext:
    """Jinja2's ``gettext``/``ngettext`` for pyramid_jinja2 (``jinja2.i18n.gettext``): as
    its GetTextWrapper, the current request's localizer in the configured domain."""

    def __init__(self, domain):
        self.domain = domain

    def gettext(self, message, mapping=None):
        return template_gettext(get_current_request().localizer, self.domain, message, mapping)

    def ngettext(self, singular, plural, n):
        return get_current_request().localizer.pluralize(singular, plural, n,
                                                         domain=self.domain)


def includeme(config):
    settings = config.registry["app_settings"]
    config.set_locale_negotiator(locale_negotiator)
    config.add_translation_dirs("colander:locale/", "deform:locale/")
    if settings.locale_dir:
        config.add_translation_dirs(settings.locale_dir)
