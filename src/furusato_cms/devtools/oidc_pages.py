"""HTML of the local OpenID Connect provider: plain, bilingual (Japanese first), no script.

These pages belong to the development stand-in, not to the product, so their words are
plain bilingual literals rather than catalogue entries.
"""
from html import escape

from ._serving import bilingual, html_page

GENDERS = {"male": ("男性", "male"), "female": ("女性", "female")}
FAULT_LABELS = {
    "bad_signature": ("ID トークンの署名が不正", "ID token with a bad signature"),
    "wrong_nonce": ("ID トークンの nonce が違う", "ID token with a wrong nonce"),
    "expired": ("ID トークンの有効期限切れ", "ID token already expired"),
    "wrong_audience": ("ID トークンの宛先（aud）が違う", "ID token for another audience"),
}
TITLE = bilingual("マイナンバーカードで本人確認（開発用）",
                  "My Number Card identity check (development stand-in)")
PLAIN_TITLE = "マイナンバーカードで本人確認（開発用） My Number Card identity check (development)"


def chooser_page(action: str, fields: dict, client_id: str, scope, people) -> str:
    """The page a developer (or a test) uses to 'sign in' as one of the test people."""
    hidden = "\n".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
        for name, value in fields.items()
    )
    ordinary = "\n".join(_person_item(p) for p in people if not p.get("fault"))
    faulty = "\n".join(_person_item(p) for p in people if p.get("fault"))
    body = f"""<h1>{TITLE}</h1>
<p>{bilingual("これは開発・テスト用の代替サーバーです。実在しないテスト用の人物を選ぶと、"
              "その人物として本人確認が完了します。",
              "This is a development and test stand-in. Choose a fictional test person "
              "to complete the check as them.")}</p>
<p>{bilingual("依頼元", "Requested by")}: <code>{escape(client_id)}</code><br>
{bilingual("提供する情報", "Information shared")}: <code>{escape(" ".join(scope))}</code></p>
<form method="post" action="{escape(action)}">
{hidden}
<fieldset>
<legend>{bilingual("テスト用の人物", "Test people")}</legend>
<ul>
{ordinary}
</ul>
</fieldset>
<fieldset>
<legend>{bilingual("テスト用の不具合（わざと失敗します）", "Test faults (fail on purpose)")}</legend>
<ul>
{faulty}
</ul>
</fieldset>
<p><button type="submit" name="cancel" value="1">{bilingual("キャンセル", "Cancel")}</button></p>
</form>"""
    return html_page(PLAIN_TITLE, body)


def _person_item(person: dict) -> str:
    gender = bilingual(*GENDERS.get(person["gender"], (person["gender"], person["gender"])))
    fault = person.get("fault")
    fault_line = ""
    if fault:
        japanese, english = FAULT_LABELS[fault]
        fault_line = "<br>" + bilingual(f"テスト用の不具合: {japanese}", f"Test fault: {english}")
    return (
        f'<li><button type="submit" name="person" value="{escape(person["key"])}">'
        f'<strong>{escape(person["name"])}</strong><br>'
        f'{escape(person["birthdate"])} · {gender} · {escape(person["address"]["formatted"])}'
        f"{fault_line}</button></li>"
    )


def error_page(japanese: str, english: str) -> str:
    """A request error that must not be sent back to an unverified redirect URI."""
    body = f"""<h1>{bilingual("要求を処理できません", "The request cannot be processed")}</h1>
<p>{bilingual(japanese, english)}</p>"""
    return html_page(PLAIN_TITLE, body)


def home_page(issuer: str) -> str:
    discovery = escape(issuer + "/.well-known/openid-configuration")
    body = f"""<h1>{TITLE}</h1>
<p>{bilingual("開発・テスト専用です。本番では使いません。",
              "For development and tests only; never for production.")}</p>
<p><a href="{discovery}">{discovery}</a></p>"""
    return html_page(PLAIN_TITLE, body)
