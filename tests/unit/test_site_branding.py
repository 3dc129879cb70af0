"""The accent colour's contrast check (services/site_branding.py), WCAG 2.2's formula."""
import pytest

from furusato_cms.services.errors import InvalidInput
from furusato_cms.services.site_branding import checked_accent, contrast_ratio, parse_colour


def test_contrast_of_black_and_white_is_21():
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#ffffff", "#ffffff") == pytest.approx(1.0)


def test_known_ratio_of_webaim_grey():
    assert contrast_ratio("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)


@pytest.mark.parametrize("typed, stored", [
    ("#1D5B3A", "#1d5b3a"), ("1d5b3a", "#1d5b3a"), ("#15a", "#1155aa"),
    ("＃１Ｄ５Ｂ３Ａ", "#1d5b3a"), ("  #1d5b3a ", "#1d5b3a"),
])
def test_colours_are_read_in_the_forms_people_type(typed, stored):
    assert parse_colour(typed) == stored


@pytest.mark.parametrize("typed", ["green", "#12345", "#gggggg", "rgb(0,0,0)", "#1d5b3a;x"])
def test_what_is_not_a_colour_is_refused_on_the_field(typed):
    with pytest.raises(InvalidInput) as refused:
        parse_colour(typed)
    assert refused.value.field == "accent_color"


def test_a_dark_colour_passes_aa_on_every_background():
    assert checked_accent("#115a36") == "#115a36"
    assert checked_accent("#00118f") == "#00118f"


@pytest.mark.parametrize("light", ["#ffd43d", "#2cac6e", "#7f7f7f", "#ff5454"])
def test_a_light_colour_is_refused_with_its_ratio(light):
    with pytest.raises(InvalidInput) as refused:
        checked_accent(light)
    assert refused.value.field == "accent_color"
    shown = float(refused.value.message.mapping["ratio"])
    assert shown < 4.5


def test_a_colour_just_below_aa_on_the_grey_panel_is_refused():
    """#767676 reaches 4.54 on white but only 4.1 on the panels' #f2f2f2."""
    with pytest.raises(InvalidInput):
        checked_accent("#767676")
