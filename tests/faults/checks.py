"""What every error page must carry, whoever answered it."""

SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options",
                    "Referrer-Policy", "Permissions-Policy")


def assert_security_headers(response):
    missing = [name for name in SECURITY_HEADERS if name not in response.headers]
    assert missing == [], f"{response.status} lacks {missing}"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def assert_unavailable(response):
    """A 503 in the site's look (HTML pages) that says when to come back."""
    assert response.status_int == 503, response.status
    assert int(response.headers["Retry-After"]) > 0
    assert_security_headers(response)
    if response.content_type == "text/html":
        assert "一時的にご利用いただけません" in response.text
        assert 'class="site-header"' in response.text
