"""Japanese is the default language: every UI string must have a ja translation."""
import os

from furusato_cms.scripts.catalog import extracted_messages, missing_translations

LOCALE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "locale")


def test_extraction_finds_strings_in_python_and_templates():
    messages = extracted_messages()
    assert "Skip to main content" in messages  # base.jinja2
    assert "Unknown prefecture." in messages  # views/public.py


def test_every_ui_string_has_a_japanese_translation():
    assert missing_translations(LOCALE_DIR, "ja") == []
