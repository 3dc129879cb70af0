"""Every page a signed-in person reaches is in Japanese: no catalogue msgid printed as is.

A label built with ``_()`` but printed without ``translate()`` shows the English msgid on
a Japanese page. Each role signs in and follows every link of the site from its start
pages (GET, HTML answers only); a page fails when its visible text holds an English
msgid that the ja catalogue translates. Crawling also proves no page a link leads to
answers with a server error.
"""
import os
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup

from furusato_cms.models import Account
from furusato_cms.scripts import demo
from furusato_cms.scripts.catalog import merged_catalog

from ..conftest import HERE, NOW
from ..factories import sign_in

CITY = "202011"
START_PAGES = {
    "registrant@example.jp": ("/my/", "/account", f"/s/{CITY}/", "/"),
    "admin@example.jp": (f"/s/{CITY}/manage", "/account"),
    "editor@example.jp": (f"/s/{CITY}/manage",),
    "reviewer@example.jp": (f"/s/{CITY}/manage",),
    "coordinator@example.jp": (f"/s/{CITY}/manage",),
    "partner@example.jp": (f"/s/{CITY}/manage",),
    "operator@example.jp": ("/operator/", f"/s/{CITY}/manage"),
}
NOT_FOLLOWED = re.compile(
    r"^/(language|signout|unsubscribe|static|themes)\b|\.(csv|json|svg|png|pdf|xlsx|js|css)$"
)
"""Links that change the visitor's own settings or lead to files, not pages."""
MAX_PAGES = 250
PLACEHOLDER = re.compile(r"\$\{\w+\}")


def english_phrases() -> tuple[set, set]:
    """Msgids the ja catalogue translates: whole single words (matched as a whole text
    node) and phrases of several words (matched anywhere in the text). A msgid with
    placeholders contributes its literal parts of several words."""
    words, phrases = set(), set()
    for message in merged_catalog(os.path.join(HERE, "locale"), "ja"):
        if not message.id or message.string == message.id:
            continue
        for part in PLACEHOLDER.split(message.id):
            part = part.strip(" .,:;()")
            if " " in part and len(part) >= 12:
                phrases.add(part)
            elif part and part == message.id and re.fullmatch(r"[A-Z][a-z]+", part):
                words.add(part)
    return words, phrases


def untranslated(html: str, words: set, phrases: set) -> set:
    soup = BeautifulSoup(html, "html.parser")
    for hidden in soup(["script", "style", "template"]):
        hidden.decompose()
    nodes = [text.strip() for text in soup.find_all(string=True) if text.strip()]
    visible = "\n".join(nodes)
    return {node for node in nodes if node in words} | {p for p in phrases if p in visible}


def local_links(page, base) -> set:
    found = set()
    for anchor in page.html.find_all("a", href=True):
        parts = urlsplit(anchor["href"])
        if parts.netloc and parts.netloc != base:
            continue
        path = parts.path
        if path.startswith("/") and not NOT_FOLLOWED.search(path):
            found.add(path + (f"?{parts.query}" if parts.query else ""))
    return found


@pytest.fixture
def demo_world(dbsession, app_settings):
    """The demo data (its projects with sessions to apply for, support measures and the
    registrant's registration with the city included)."""
    demo.load(dbsession, NOW - timedelta(days=1), app_settings)
    return {a.email: a for a in dbsession.query(Account)}


@pytest.mark.parametrize("email", sorted(START_PAGES))
def test_every_page_a_role_reaches_is_in_japanese(testapp, dbsession, clock, app_settings,
                                                   demo_world, email):
    sign_in(testapp, dbsession, demo_world[email], clock, app_settings)
    words, phrases = english_phrases()
    queue, seen, failures = list(START_PAGES[email]), set(), {}
    while queue and len(seen) < MAX_PAGES:
        url = queue.pop(0)
        key = url.split("?")[0]
        if key in seen:
            continue
        seen.add(key)
        page = testapp.get(url, expect_errors=True)
        assert page.status_int < 500, f"{url} answered {page.status}"
        if page.status_int != 200 or "text/html" not in page.content_type:
            continue
        found = untranslated(page.text, words, phrases)
        if found:
            failures[url] = sorted(found)
        queue.extend(sorted(local_links(page, "localhost") - seen))
    assert len(seen) > len(START_PAGES[email])
    assert failures == {}
