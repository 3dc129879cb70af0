"""Checks for notices sent through the notification service (通知): the one inbox row
and the one mail a person got, the mail with its one-click unsubscribe headers."""
from sqlalchemy import select

from furusato_cms.models import InboxMessage
from furusato_cms.services.notifications import UnsubscribeTokens


def only_notice(dbsession, catcher, account, site, kind, settings):
    """The person's single inbox row of ``kind`` and single mail; fails on none or more
    (a notice must never reach a person twice)."""
    [message] = dbsession.scalars(
        select(InboxMessage).where(InboxMessage.account_id == account.id,
                                   InboxMessage.kind == kind)).all()
    assert message.site_id == site.id
    [mail] = catcher.messages(to=account.email)
    url = settings.base_url + "/unsubscribe/" + UnsubscribeTokens(settings).token_for(
        account.id, site.id, kind)
    headers = dict(mail["headers"])
    assert headers["List-Unsubscribe"] == f"<{url}>"
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert url in mail["text"]
    assert mail["subject"] == message.subject
    return message, mail
