"""Pages link their stylesheets through templating.static_url, which remembers each URL
per application URL: the link must be the one Pyramid's static view serves, and a page
asked for under another host must not get the first host's links."""
from furusato_cms import templating


def stylesheet_links(page):
    return [link["href"] for link in page.html.select("link[rel=stylesheet]")
            if "/themes/" not in link["href"]]


def test_stylesheet_links_are_served(testapp):
    links = stylesheet_links(testapp.get("/signin"))
    assert links == ["http://localhost/static/vendor/design-tokens/tokens.css",
                     "http://localhost/static/base.css"]
    for link in links:
        assert testapp.get(link.removeprefix("http://localhost"), status=200).body


def test_each_host_gets_its_own_links(testapp):
    testapp.get("/signin")
    other = testapp.get("/signin", extra_environ={"HTTP_HOST": "furusato.example.jp"})
    assert stylesheet_links(other) == [
        "http://furusato.example.jp/static/vendor/design-tokens/tokens.css",
        "http://furusato.example.jp/static/base.css"]
    assert stylesheet_links(testapp.get("/signin"))[1] == "http://localhost/static/base.css"


def test_remembered_urls_are_bounded(testapp, monkeypatch):
    monkeypatch.setattr(templating, "STATIC_URLS_KEPT", 4)
    for n in range(5):
        testapp.get("/signin", extra_environ={"HTTP_HOST": f"host{n}.example.jp"})
    assert len(testapp.app.registry.furusato_static_urls) <= 4
