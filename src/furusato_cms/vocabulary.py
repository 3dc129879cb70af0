"""The national common questions asked at every registration (全国共通の登録時アンケート).

The national definitions of 類型①–④ are set by the Ministry; the short labels
below are this platform's wording and live only here, so they are easy to align.
"""
from .i18n import _

RELATIONSHIP_TYPES = {
    1: _("Type 1: I take part in local activities (contributor)"),
    2: _("Type 2: I stay or live there part of the time (dual residence, long stays)"),
    3: _("Type 3: I support the area from afar (furusato nozei, local products, tourism)"),
    4: _("Type 4: I have roots there (birthplace, former home, family)"),
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
