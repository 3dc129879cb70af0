"""Forms of sign-in, the TOTP step, the account page and accepting an invitation.

Schemas check shape (lengths, six digits, the two passwords typed alike); the rules
behind them (right password, unused code, lock-outs) live in services/authentication.
"""
import colander
import deform

from ..forms import CSRFSchema
from ..i18n import _
from ..services.passwords import MAX_LENGTH, MIN_LENGTH
from .fields import EMAIL_MAX, LocalPath, Text


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _digits_only(value):
    """People type codes with spaces ("123 456") or full-width digits; accept both."""
    if not isinstance(value, str):
        return value
    return "".join(ch for ch in value if not ch.isspace()).translate(
        str.maketrans("０１２３４５６７８９", "0123456789")
    )


def _password_node(title, autocomplete, *, new=False, name=None):
    length = (
        colander.Length(
            min=MIN_LENGTH, max=MAX_LENGTH,
            min_err=_("Use at least ${min} characters."),
            max_err=_("Use at most ${max} characters."),
        )
        if new
        else colander.Length(max=MAX_LENGTH, max_err=_("Use at most ${max} characters."))
    )
    return colander.SchemaNode(
        Text(MAX_LENGTH),
        name=name,
        title=title,
        validator=length,
        widget=deform.widget.PasswordWidget(
            attributes={"autocomplete": autocomplete, "maxlength": str(MAX_LENGTH)}
        ),
    )


def _came_from():
    return colander.SchemaNode(
        LocalPath(), widget=deform.widget.HiddenWidget(), missing="", name="came_from"
    )


def _same_passwords(first, second):
    def validator(node, value):
        if value[first] != value[second]:
            error = colander.Invalid(node)
            error[second] = _("The two passwords are not the same.")
            raise error

    return validator


class SigninSchema(CSRFSchema):
    email = colander.SchemaNode(
        Text(EMAIL_MAX),
        title=_("Email address"),
        preparer=_strip,
        validator=colander.All(
            colander.Length(max=254), colander.Email(msg=_("Enter a valid email address."))
        ),
        widget=deform.widget.TextInputWidget(
            attributes={"type": "email", "autocomplete": "username", "maxlength": "254"}
        ),
    )
    password = _password_node(_("Password"), "current-password")
    came_from = _came_from()


class TotpCodeSchema(CSRFSchema):
    code = colander.SchemaNode(
        Text(20),
        title=_("6-digit code"),
        preparer=_digits_only,
        validator=colander.Regex(r"^[0-9]{6}$", msg=_("Enter the 6 digits your app shows.")),
        widget=deform.widget.TextInputWidget(
            attributes={"inputmode": "numeric", "autocomplete": "one-time-code",
                        "maxlength": "7"}
        ),
    )


def _code_characters(value):
    """Like ``_digits_only`` but keeps the letters and hyphen of a recovery code."""
    if not isinstance(value, str):
        return value
    return _digits_only(value).translate(str.maketrans("－ー", "--")).lower()


class SecondFactorSchema(CSRFSchema):
    """The sign-in step after the password: a code from the app, or a recovery code."""

    code = colander.SchemaNode(
        Text(40),
        title=_("6-digit code, or a recovery code"),
        preparer=_code_characters,
        validator=colander.Regex(
            r"^(?:[0-9]{6}|[a-z0-9]{5}-?[a-z0-9]{5})$",
            msg=_("Enter the 6 digits your app shows, or one of your recovery codes.")),
        widget=deform.widget.TextInputWidget(
            attributes={"autocomplete": "one-time-code", "maxlength": "12",
                        "autocapitalize": "off"}
        ),
    )


class PasswordChangeSchema(CSRFSchema):
    current_password = _password_node(_("Current password"), "current-password")
    new_password = _password_node(_("New password"), "new-password", new=True)
    new_password_again = _password_node(_("New password again"), "new-password", new=True)

    def validator(self, node, value):
        _same_passwords("new_password", "new_password_again")(node, value)


class NewStaffSchema(CSRFSchema):
    """A person new to the system accepting an invitation."""

    display_name = colander.SchemaNode(
        Text(100),
        title=_("Your name"),
        description=_("Shown to other staff and in the records of your work."),
        preparer=_strip,
        validator=colander.Length(min=1, max=100),
        widget=deform.widget.TextInputWidget(attributes={"autocomplete": "name"}),
    )
    password = _password_node(_("Password"), "new-password", new=True)
    password_again = _password_node(_("Password again"), "new-password", new=True)

    def validator(self, node, value):
        _same_passwords("password", "password_again")(node, value)


class ExistingAccountSchema(CSRFSchema):
    """A person who already has an account accepting an invitation: they sign in."""

    password = _password_node(_("Password"), "current-password")
