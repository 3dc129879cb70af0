"""全国地方公共団体コード (JIS X 0402 + check digit) and the 47 prefectures."""
import unicodedata

PREFECTURES = (
    ("01", "北海道", "ほっかいどう", "Hokkaido"), ("02", "青森県", "あおもりけん", "Aomori"),
    ("03", "岩手県", "いわてけん", "Iwate"), ("04", "宮城県", "みやぎけん", "Miyagi"),
    ("05", "秋田県", "あきたけん", "Akita"), ("06", "山形県", "やまがたけん", "Yamagata"),
    ("07", "福島県", "ふくしまけん", "Fukushima"), ("08", "茨城県", "いばらきけん", "Ibaraki"),
    ("09", "栃木県", "とちぎけん", "Tochigi"), ("10", "群馬県", "ぐんまけん", "Gunma"),
    ("11", "埼玉県", "さいたまけん", "Saitama"), ("12", "千葉県", "ちばけん", "Chiba"),
    ("13", "東京都", "とうきょうと", "Tokyo"), ("14", "神奈川県", "かながわけん", "Kanagawa"),
    ("15", "新潟県", "にいがたけん", "Niigata"), ("16", "富山県", "とやまけん", "Toyama"),
    ("17", "石川県", "いしかわけん", "Ishikawa"), ("18", "福井県", "ふくいけん", "Fukui"),
    ("19", "山梨県", "やまなしけん", "Yamanashi"), ("20", "長野県", "ながのけん", "Nagano"),
    ("21", "岐阜県", "ぎふけん", "Gifu"), ("22", "静岡県", "しずおかけん", "Shizuoka"),
    ("23", "愛知県", "あいちけん", "Aichi"), ("24", "三重県", "みえけん", "Mie"),
    ("25", "滋賀県", "しがけん", "Shiga"), ("26", "京都府", "きょうとふ", "Kyoto"),
    ("27", "大阪府", "おおさかふ", "Osaka"), ("28", "兵庫県", "ひょうごけん", "Hyogo"),
    ("29", "奈良県", "ならけん", "Nara"), ("30", "和歌山県", "わかやまけん", "Wakayama"),
    ("31", "鳥取県", "とっとりけん", "Tottori"), ("32", "島根県", "しまねけん", "Shimane"),
    ("33", "岡山県", "おかやまけん", "Okayama"), ("34", "広島県", "ひろしまけん", "Hiroshima"),
    ("35", "山口県", "やまぐちけん", "Yamaguchi"), ("36", "徳島県", "とくしまけん", "Tokushima"),
    ("37", "香川県", "かがわけん", "Kagawa"), ("38", "愛媛県", "えひめけん", "Ehime"),
    ("39", "高知県", "こうちけん", "Kochi"), ("40", "福岡県", "ふくおかけん", "Fukuoka"),
    ("41", "佐賀県", "さがけん", "Saga"), ("42", "長崎県", "ながさきけん", "Nagasaki"),
    ("43", "熊本県", "くまもとけん", "Kumamoto"), ("44", "大分県", "おおいたけん", "Oita"),
    ("45", "宮崎県", "みやざきけん", "Miyazaki"), ("46", "鹿児島県", "かごしまけん", "Kagoshima"),
    ("47", "沖縄県", "おきなわけん", "Okinawa"),
)
PREFECTURE_NAMES = {code: name for code, name, _kana, _en in PREFECTURES}
PREFECTURE_NAMES_EN = {code: en for code, _name, _kana, en in PREFECTURES}


def check_digit(first_five: str) -> str:
    """The sixth digit: 11 minus the weighted sum (6,5,4,3,2) mod 11, last digit kept."""
    total = sum(int(d) * w for d, w in zip(first_five, (6, 5, 4, 3, 2)))
    return str((11 - total % 11) % 10)


def normalize_code(raw: str) -> str:
    """Full-width digits and stray spaces, as people type them, become plain digits."""
    return unicodedata.normalize("NFKC", raw or "").strip().replace(" ", "").replace("-", "")


class CodeError(ValueError):
    """Why a code is not a valid 全国地方公共団体コード; ``reason`` is a machine key."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def validate_code(raw: str) -> str:
    code = normalize_code(raw)
    if len(code) != 6 or not code.isdigit():
        raise CodeError("format")
    if code[:2] not in PREFECTURE_NAMES:
        raise CodeError("prefecture")
    if check_digit(code[:5]) != code[5]:
        raise CodeError("check_digit")
    return code


def prefecture_site_code(prefecture_code: str) -> str:
    first_five = prefecture_code + "000"
    return first_five + check_digit(first_five)


def kind_of(code: str) -> str:
    return "prefecture" if code[2:5] == "000" else "municipality"


def prefecture_name(prefecture_code: str, locale: str = "ja") -> str:
    if locale == "en":
        return PREFECTURE_NAMES_EN.get(prefecture_code, prefecture_code)
    return PREFECTURE_NAMES.get(prefecture_code, prefecture_code)
