"""The local mail catcher (furusato-dev-mail), exercised as a real process over SMTP and HTTP."""
import smtplib
from email.header import Header
from email.message import EmailMessage
from email.mime.text import MIMEText

import pytest
import requests

from furusato_cms.devtools.mail_catcher import MailBox

from ..devtools_fixtures import mail_catcher  # noqa: F401  (the fixture)

SUBJECT = "【長野市】メールアドレスの確認"
LINK = "http://localhost:6543/confirm?token=abc&next=%2Fmy%2Fcard"


def send(catcher, message, to=("taro@example.jp",)):
    with smtplib.SMTP(catcher.smtp_host, catcher.smtp_port, timeout=10) as smtp:
        smtp.send_message(message, to_addrs=list(to))


def confirmation_mail() -> EmailMessage:
    message = EmailMessage()
    message["From"] = "長野市 <noreply@example.jp>"
    message["To"] = "山田 太郎 <taro@example.jp>"
    message["Subject"] = SUBJECT
    message.set_content(f"山田 太郎 様\n\n次のリンクを開いてください。\n{LINK}\n")
    message.add_alternative('<p>確認</p><script>alert("x")</script>', subtype="html")
    return message


def test_a_japanese_mail_is_readable_as_json_and_html(catcher):
    send(catcher, confirmation_mail())

    [received] = catcher.messages()
    assert received["subject"] == SUBJECT
    assert received["from"] == "長野市 <noreply@example.jp>"
    assert received["envelope_to"] == ["taro@example.jp"]
    assert LINK in received["text"]
    assert "<script>" in received["html"]
    assert ["Subject", SUBJECT] in received["headers"]

    listing = requests.get(catcher.http_url, timeout=10).text
    assert SUBJECT in listing
    shown = requests.get(f"{catcher.http_url}messages/{received['number']}", timeout=10)
    assert "山田 太郎 様" in shown.text
    assert f'<a href="{LINK.replace("&", "&amp;")}">' in shown.text
    assert "<script>" not in shown.text
    assert "&lt;script&gt;" in shown.text
    assert "default-src 'none'" in shown.headers["Content-Security-Policy"]


def test_iso_2022_jp_mail_is_decoded(catcher):
    message = MIMEText("登録が完了しました。", "plain", "iso-2022-jp")
    message["Subject"] = Header("登録完了のお知らせ", "iso-2022-jp")
    message["From"] = "noreply@example.jp"
    message["To"] = "hanako@example.jp"
    assert b"=?iso-2022-jp?" in message.as_bytes()
    send(catcher, message, to=["hanako@example.jp"])

    [received] = catcher.messages(to="hanako@example.jp")
    assert received["subject"] == "登録完了のお知らせ"
    assert received["text"].strip() == "登録が完了しました。"


def test_the_list_shows_the_newest_first(catcher):
    for subject in ("一通目", "二通目"):
        message = confirmation_mail()
        message.replace_header("Subject", subject)
        send(catcher, message)
    listing = requests.get(catcher.http_url, timeout=10).text
    assert listing.index("二通目") < listing.index("一通目")
    assert [m["subject"] for m in catcher.messages()] == ["一通目", "二通目"]


def test_clearing_from_the_api_and_from_the_page(catcher):
    send(catcher, confirmation_mail())
    catcher.clear()
    assert catcher.messages() == []

    send(catcher, confirmation_mail())
    answer = requests.post(catcher.http_url + "clear", allow_redirects=False, timeout=10)
    assert answer.status_code == 303
    assert catcher.messages() == []


def test_unknown_message_is_not_found(catcher):
    assert requests.get(catcher.http_url + "messages/999999", timeout=10).status_code == 404


def test_the_mailbox_keeps_only_the_latest_messages():
    mailbox = MailBox(limit=3)
    for number in range(5):
        mailbox.add("a@example.jp", ["b@example.jp"], f"Subject: {number}\r\n\r\nbody\r\n".encode())
    assert [m.header("Subject") for m in mailbox.all()] == ["2", "3", "4"]
