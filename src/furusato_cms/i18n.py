"""Japanese by default, English selectable; the choice is kept in a cookie."""
from pyramid.i18n import TranslationStringFactory

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


def includeme(config):
    settings = config.registry["app_settings"]
    config.set_locale_negotiator(locale_negotiator)
    config.add_translation_dirs("colander:locale/", "deform:locale/")
    if settings.locale_dir:
        config.add_translation_dirs(settings.locale_dir)
