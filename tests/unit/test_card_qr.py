"""The card's fast QR codes (services/card_qr.py) are segno's symbols, module for module,
and their SVG draws exactly the dark modules."""
import random
import re
import string
from urllib.parse import unquote

import pytest
import segno

from furusato_cms.services import card_qr

ALPHABET = string.ascii_letters + string.digits + "-_.:/?=&"


def texts():
    rng = random.Random(16)
    lengths = list(range(1, 120, 7)) + [rng.randint(200, 330) for _ in range(40)] + [600, 1200]
    return ["h" + "".join(rng.choice(ALPHABET) for _ in range(n)) for n in lengths]


@pytest.mark.parametrize("error", ["M", "L", "Q", "H"])
def test_same_symbol_as_segno(error):
    for text in texts():
        ours = card_qr.make(text, error)
        theirs = segno.make(text, error=error.lower(), micro=False, mode="byte")
        assert (ours.version, ours.mask) == (theirs.version, theirs.mask), text
        assert ours.matrix() == tuple(theirs.matrix), text


def test_a_card_url_is_the_same_symbol_as_segno():
    url = ("http://localhost/verify?s=WzEsIkFiQ2QxMiIsNDIsIjIwMjAxMSIsIumVt-mHjuW4giIsInByZW1p"
           "dW0iLCIyMDI3LTExLTI1IiwxLDE3NjQwNDE0MDAsMTc2NDA0MTcwMF0.c2lnbmF0dXJlLXNpZ25hdHVy"
           "ZS1zaWduYXR1cmUtc2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmUtc2lnbmF0dXI")
    ours, theirs = card_qr.make(url), segno.make(url, error="m", micro=False)
    assert ours.matrix() == tuple(theirs.matrix)


def drawn_modules(uri, size, border):
    """The dark modules the SVG path strokes (each stroke one module high)."""
    assert uri.startswith("data:image/svg+xml,")
    svg = unquote(uri.split(",", 1)[1])
    path = re.search(r"d='([^']*)'", svg).group(1)
    dark = set()
    x = y = 0.0
    for command, numbers in re.findall(r"([Mmh])([-\d. ]+)", path):
        values = [float(v) for v in numbers.split()]
        if command == "M":
            x, y = values
        elif command == "m":
            x, y = x + values[0], y + values[1]
        else:
            for column in range(int(values[0])):
                dark.add((int(y - 0.5) - border, int(x) + column - border))
            x += values[0]
    return dark


def test_svg_draws_exactly_the_dark_modules():
    for text in texts()[::5]:
        symbol = card_qr.make(text)
        matrix = symbol.matrix()
        expected = {(r, c) for r in range(symbol.size) for c in range(symbol.size)
                    if matrix[r][c]}
        uri = symbol.svg_data_uri(scale=4, border=4)
        assert drawn_modules(uri, symbol.size, 4) == expected
        side = (symbol.size + 8) * 4
        assert f"width='{side}' height='{side}'" in unquote(uri)
        assert '"' not in uri and "#" not in uri and "<" not in uri
