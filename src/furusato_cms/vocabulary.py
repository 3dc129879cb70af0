"""The national common questions asked at every registration (全国共通の登録時アンケート).

関係人口の類型①–④ are the national guideline's own: the survey asks which apply (any
number of them). English says what the Japanese says; the Japanese is the guideline's
wording word for word (locale/ja/types.po). Birthplace or family ties are connections,
not a type.
"""
from .i18n import _

RELATIONSHIP_TYPES = {
    1: _("Type 1: I do not actually visit the area, but contribute to it economically "
         "by buying local products, through furusato nozei and the like"),
    2: _("Type 2: I visit the area continuously, a few times a year, and enjoy "
         "sightseeing, shopping, experience activities and the like"),
    3: _("Type 3: I visit the area regularly and take part as a contributor, through a "
         "side job, volunteering and the like"),
    4: _("Type 4: I have a place to stay in the area and make some use of its public "
         "services and facilities too (dual residence and the like)"),
}

CONNECTIONS = {
    "birthplace": _("Birthplace"),
    "former_residence": _("Former residence"),
    "family": _("Family or relatives live there"),
    "furusato_nozei": _("Furusato nozei (hometown tax donation)"),
    "tourism": _("Tourism and visits"),
    "volunteering": _("Volunteering"),
    "side_job": _("Side job or work"),
    "dual_residence": _("Dual residence"),
    "other": _("Other"),
}

TIER_LABELS = {"basic": _("Basic"), "premium": _("Premium")}
"""ベーシック登録 / プレミアム登録."""
