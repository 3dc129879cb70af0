"""The shared vocabulary of interests (関心分野): post tags, project fields and the
interests registrants choose all use these keys, so targeting can match them."""
from .i18n import _

INTERESTS = {
    "agriculture": _("Agriculture and fishing"),
    "festival": _("Festivals and events"),
    "food": _("Food"),
    "nature": _("Nature and outdoors"),
    "tourism": _("Tourism"),
    "culture": _("Culture and history"),
    "cleaning": _("Cleaning and environment"),
    "disaster_prevention": _("Disaster prevention"),
    "snow_removal": _("Snow removal"),
    "childcare": _("Children and education"),
    "elderly_care": _("Health and elderly care"),
    "housing": _("Housing and vacant houses"),
    "work": _("Work and side jobs"),
    "dual_residence": _("Dual residence"),
    "sports": _("Sports"),
    "expertise": _("Professional skills"),
}

POST_KIND_LABELS = {
    "news": _("News"),
    "event": _("Event"),
    "attraction": _("Regional attractions"),
    "life": _("Life information"),
}
