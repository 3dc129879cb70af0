"""Forms of the site lifecycle: applying to join, the operator's decisions, a site's
settings and its staff. Ranges and messages come from the services, so a form and
the rule it fronts can never disagree."""
import colander
import deform

from ..forms import CSRFSchema
from ..i18n import _
from ..localgov import CodeError, validate_code
from ..models.site import THEMES
from ..services.sites import LIMIT_MESSAGES, SETTING_LIMITS, code_error_message
from ..services.staff import INVITABLE_ROLES, ROLE_LABELS
from .fields import EMAIL_MAX, Text

THEME_LABELS = {
    "default": _("Standard"),
    "contrast": _("High contrast, larger text"),
}
PHONE_PATTERN = r"^[0-9０-９()（）+＋\-‐－ー ]{6,30}$"


def _strip(value):
    """Surrounding spaces are dropped; a field of spaces only counts as empty."""
    if isinstance(value, str):
        return value.strip() or colander.null
    return value


def _code_validator(node, value):
    try:
        validate_code(value)
    except CodeError as exc:
        raise colander.Invalid(node, code_error_message(exc.reason, value)) from exc


def _text(title, max_length, *, required=True, description=None, widget=None, attributes=None):
    return colander.SchemaNode(
        Text(max_length, multiline=isinstance(widget, deform.widget.TextAreaWidget)),
        title=title,
        description=description,
        preparer=_strip,
        validator=colander.Length(max=max_length),
        missing=colander.required if required else "",
        widget=widget or deform.widget.TextInputWidget(attributes=attributes or {}),
    )


def _email(title, *, required=True, description=None):
    return colander.SchemaNode(
        Text(EMAIL_MAX),
        title=title,
        description=description,
        preparer=_strip,
        validator=colander.All(
            colander.Email(msg=_("Enter a valid email address.")), colander.Length(max=254)
        ),
        missing=colander.required if required else "",
        widget=deform.widget.TextInputWidget(
            attributes={"type": "email", "autocomplete": "email", "inputmode": "email"}
        ),
    )


def _phone(title, *, required=True):
    return colander.SchemaNode(
        Text(),
        title=title,
        preparer=_strip,
        validator=colander.Regex(
            PHONE_PATTERN, msg=_("Enter a phone number with digits and hyphens.")
        ),
        missing=colander.required if required else "",
        widget=deform.widget.TextInputWidget(attributes={"type": "tel", "autocomplete": "tel"}),
    )


def _number(name, title, description=None):
    low, high = SETTING_LIMITS[name]
    message = LIMIT_MESSAGES[name] % {"low": low, "high": high}
    return colander.SchemaNode(
        colander.Integer(),
        name=name,
        title=title,
        description=description,
        validator=colander.Range(low, high, min_err=message, max_err=message),
        widget=deform.widget.TextInputWidget(
            attributes={"type": "number", "inputmode": "numeric", "min": low, "max": high}
        ),
    )


def _flag(title, description=None):
    return colander.SchemaNode(
        colander.Boolean(),
        title=title,
        description=description,
        missing=False,
        widget=deform.widget.CheckboxWidget(),
    )


class JoinSchema(CSRFSchema):
    """参画申請: what the operator needs to identify and contact the local government."""

    code = colander.SchemaNode(
        Text(),
        title=_("Local government code (6 digits)"),
        description=_("The 全国地方公共団体コード with its check digit, e.g. 202011 for Nagano City."),
        preparer=_strip,
        validator=_code_validator,
        widget=deform.widget.TextInputWidget(
            attributes={"inputmode": "numeric", "autocomplete": "off", "maxlength": "12"}
        ),
    )
    name = _text(_("Name of the local government"), 100, description=_("e.g. 長野市"))
    name_kana = _text(_("Reading in kana"), 200, description=_("e.g. ながのし"))
    contact_name = _text(_("Person in charge"), 100, attributes={"autocomplete": "name"})
    contact_department = _text(_("Department"), 200, required=False)
    contact_email = _email(_("Email address"))
    contact_phone = _phone(_("Phone number"))


class ApproveSchema(CSRFSchema):
    admin_email = _email(
        _("Email of the first site administrator"),
        description=_("An invitation link for this person is shown once after approval."),
    )


class InviteAdminSchema(CSRFSchema):
    admin_email = _email(_("Email of the site administrator"))


class ReasonSchema(CSRFSchema):
    reason = _text(
        _("Reason"),
        2000,
        description=_("The local government will read this."),
        widget=deform.widget.TextAreaWidget(rows=3),
    )


class ConfirmSchema(CSRFSchema):
    """A decision that needs no input beyond the button."""


class SiteSettingsSchema(CSRFSchema):
    """自治体設定: look, contact, and the rules later parts read (premium, renewal, check-in)."""

    theme = colander.SchemaNode(
        Text(),
        title=_("Theme"),
        validator=colander.OneOf(THEMES),
        widget=deform.widget.SelectWidget(values=[(t, THEME_LABELS.get(t, t)) for t in THEMES]),
    )
    contact_name = _text(_("Person in charge"), 100, required=False)
    contact_department = _text(_("Department"), 200, required=False)
    contact_email = _email(_("Email address"), required=False)
    contact_phone = _phone(_("Phone number"), required=False)
    inactivity_days = _number(
        "inactivity_days",
        _("Inactivity period (days)"),
        _("Basic registrations of people who have not signed in for this long are released. "
          "At least the national period; a longer one keeps registrations longer."),
    )
    premium_min_activities = _number(
        "premium_min_activities",
        _("Activities needed for premium registration"),
        _("Designated activities in the last 12 months. At least 3."),
    )
    premium_auto_approve = _flag(
        _("Approve premium applications automatically when the requirements are met"),
        _("The national standard. Turn it off only if your local government chose to have "
          "a coordinator review each application."),
    )
    auto_renewal = _flag(_("Renew premium registrations automatically"))
    long_stay_enabled = _flag(_("Use the long-term stayer mark"))
    long_stay_min_days = _number(
        "long_stay_min_days",
        _("Days of stay for the long-term stayer mark"),
        _("Days in the last 12 months. Standard: 10."),
    )
    checkin_before_minutes = _number(
        "checkin_before_minutes", _("Check-in opens this many minutes before the start")
    )
    checkin_after_minutes = _number(
        "checkin_after_minutes", _("Check-in closes this many minutes after the end")
    )


class StaffInviteSchema(CSRFSchema):
    email = _email(_("Email address"))
    role = colander.SchemaNode(
        Text(),
        title=_("Role"),
        validator=colander.OneOf(INVITABLE_ROLES),
        widget=deform.widget.RadioChoiceWidget(
            values=[(role, ROLE_LABELS[role]) for role in INVITABLE_ROLES]
        ),
    )
    is_reviewer = _flag(
        _("May publish posts (editors only)"),
        _("Editors with this right approve posts for publication."),
    )
