"""Forms of a registrant's account: sign-up, the mail-link requests (confirmation
again, password reset), a new password, and deleting the account.

The shapes only; the rules (password not the email address, the address not
revealed, links used once) live in services/registrant_accounts.
"""
import colander
import deform

from ..forms import CSRFSchema
from ..i18n import LOCALES, _
from ..services.registrant_accounts import DISPLAY_NAME_MAX
from .fields import EMAIL_MAX, Text
from .auth import _password_node, _same_passwords, _strip

LANGUAGE_NAMES = {"ja": "日本語", "en": "English"}
"""Each language in its own name, so a person finds theirs whatever the page's language."""


def _email_node():
    return colander.SchemaNode(
        Text(EMAIL_MAX),
        title=_("Email address"),
        preparer=_strip,
        validator=colander.All(
            colander.Length(max=254), colander.Email(msg=_("Enter a valid email address."))
        ),
        widget=deform.widget.TextInputWidget(
            attributes={"type": "email", "autocomplete": "email", "maxlength": "254"}
        ),
    )


@colander.deferred
def _page_language(node, kw):
    return kw["request"].locale_name


class SignupSchema(CSRFSchema):
    email = _email_node()
    display_name = colander.SchemaNode(
        Text(DISPLAY_NAME_MAX),
        title=_("Your name"),
        description=_("How we address you in mail and on your pages. A nickname is fine."),
        preparer=_strip,
        validator=colander.Length(min=1, max=DISPLAY_NAME_MAX),
        widget=deform.widget.TextInputWidget(
            attributes={"autocomplete": "nickname", "maxlength": str(DISPLAY_NAME_MAX)}
        ),
    )
    password = _password_node(_("Password"), "new-password", new=True)
    password_again = _password_node(_("Password again"), "new-password", new=True)
    locale = colander.SchemaNode(
        Text(),
        title=_("Language of mail"),
        default=_page_language,
        validator=colander.OneOf(LOCALES),
        widget=deform.widget.SelectWidget(
            values=[(code, LANGUAGE_NAMES[code]) for code in LOCALES]
        ),
    )

    def validator(self, node, value):
        _same_passwords("password", "password_again")(node, value)


class EmailSchema(CSRFSchema):
    """Ask for a mail link: the confirmation again, or a password reset."""

    email = _email_node()


class NewPasswordSchema(CSRFSchema):
    password = _password_node(_("New password"), "new-password", new=True)
    password_again = _password_node(_("New password again"), "new-password", new=True)

    def validator(self, node, value):
        _same_passwords("password", "password_again")(node, value)


class ConfirmEmailSchema(CSRFSchema):
    """Just the button: opening the link changes nothing until it is pressed."""


class DeleteAccountSchema(CSRFSchema):
    password = _password_node(_("Current password"), "current-password")
