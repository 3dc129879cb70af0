"""furusato-catalog: extract UI strings, compile the ja/en catalogues, check ja is complete.

Translations are kept in several ``locale/<lang>/*.po`` files, one per area of the
application, so parts can be translated side by side; they are merged into one
``furusato`` domain at compile time.

    furusato-catalog compile [LOCALE_DIR]
    furusato-catalog check [LOCALE_DIR]    # exit 1 listing UI strings without a ja translation
"""
import glob
import os
import sys

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

DOMAIN = "furusato"
PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_LOCALE_DIR = os.path.join(os.path.dirname(os.path.dirname(PACKAGE_DIR)), "locale")
METHOD_MAP = [("**.py", "python"), ("**/templates/**.jinja2", "jinja2")]
OPTIONS = {"**/templates/**.jinja2": {"extensions": "jinja2.ext.i18n"}}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2)}


def merged_catalog(locale_dir, lang) -> Catalog:
    catalog = Catalog(locale=lang, domain=DOMAIN)
    for path in sorted(glob.glob(os.path.join(locale_dir, lang, "*.po"))):
        with open(path, "rb") as handle:
            part = read_po(handle, locale=lang)
        for message in part:
            if message.id and message.string:
                catalog.add(message.id, message.string)
    return catalog


def compile_all(locale_dir):
    for lang in sorted(os.listdir(locale_dir)):
        if not os.path.isdir(os.path.join(locale_dir, lang)):
            continue
        target_dir = os.path.join(locale_dir, lang, "LC_MESSAGES")
        os.makedirs(target_dir, exist_ok=True)
        target = os.path.join(target_dir, DOMAIN + ".mo")
        with open(target + ".tmp", "wb") as handle:
            write_mo(handle, merged_catalog(locale_dir, lang))
        os.replace(target + ".tmp", target)


def extracted_messages() -> set:
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        PACKAGE_DIR, METHOD_MAP, options_map=OPTIONS, keywords=KEYWORDS
    ):
        if isinstance(message, tuple):
            found.update(m for m in message if m)
        elif message:
            found.add(message)
    return found


def missing_translations(locale_dir, lang="ja") -> list:
    catalog = merged_catalog(locale_dir, lang)
    return sorted(m for m in extracted_messages() if not catalog.get(m))


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    action = argv[0] if argv else "compile"
    locale_dir = argv[1] if len(argv) > 1 else DEFAULT_LOCALE_DIR
    if action == "compile":
        compile_all(locale_dir)
    elif action == "check":
        missing = missing_translations(locale_dir)
        for message in missing:
            print(f"missing ja: {message!r}")
        sys.exit(1 if missing else 0)
    else:
        sys.exit(__doc__)
