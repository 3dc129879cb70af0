"""The rules of a support application's amount and its input (支援額の計算と申請内容の
検査): the amount computed from eligible costs, rate and cap, never typed; the cost lines,
the measure's own questions and their answers, and the receipts, each checked with a
message naming what is wrong. Pure functions of what they are given, without a session,
so services/support.py and the forms' schemas share them."""
import os
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timezone

from ..clock import TOKYO, to_tokyo
from ..i18n import _
from .errors import InvalidInput
from .questions import keyed_questions

COST_AMOUNT_MAX = 100_000_000
COST_LINES_MAX = 10
COST_LABEL_MAX = 200
NIGHTS_MAX = 366
FIELDS_MAX = 15
FIELD_LABEL_MAX = 200
ANSWER_MAX = 1000
NUMBER_MAX = 1_000_000_000
FILENAME_MAX = 200
RECEIPTS_MAX = 5
FIELD_KINDS = ("text", "number", "date", "yen")
RECEIPT_SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)


def yen(amount) -> str:
    """``300,000``: yen as people write them."""
    return f"{amount:,}"


# -- the amount ---------------------------------------------------------------------


@dataclass(frozen=True)
class Payable:
    """A computed amount and everything needed to explain it (stored as a record)."""

    amount: int
    costs: int = 0
    nights: int = 0
    numerator: int = 0
    denominator: int = 1
    raw: int = 0
    """``floor(costs × numerator / denominator)``, before the cap."""
    cap_unit: str = "per_application"
    cap_yen: int = 0
    cap_total: int = 0
    """The cap that applied: the cap, the cap × nights, or what is left of the year's cap."""
    used_this_year: int = 0

    @property
    def capped(self) -> bool:
        return self.amount < self.raw

    @property
    def explanation(self) -> list:
        """How the amount came about, step by step, as translatable sentences."""
        if self.numerator == 0:
            return [_("This measure pays no money: the approval itself is the support.")]
        steps = [
            _("Eligible costs: ${costs} yen for ${nights} nights.",
              mapping={"costs": yen(self.costs), "nights": self.nights})
            if self.cap_unit == "per_night"
            else _("Eligible costs: ${costs} yen.", mapping={"costs": yen(self.costs)}),
            _("${costs} yen × ${num}/${den} = ${raw} yen (rounded down to the yen).",
              mapping={"costs": yen(self.costs), "num": self.numerator,
                       "den": self.denominator, "raw": yen(self.raw)}),
            self._cap_step(),
        ]
        if self.capped:
            steps.append(_("Capped at ${cap} yen.", mapping={"cap": yen(self.cap_total)}))
        steps.append(_("Payable: ${amount} yen.", mapping={"amount": yen(self.amount)}))
        return steps

    def _cap_step(self):
        mapping = {"cap": yen(self.cap_yen), "nights": self.nights,
                   "total": yen(self.cap_total), "used": yen(self.used_this_year)}
        if self.cap_unit == "per_night":
            return _("Cap: ${cap} yen per night × ${nights} nights = ${total} yen.",
                     mapping=mapping)
        if self.cap_unit == "per_person_year":
            return _("Cap: ${cap} yen per person per fiscal year; ${used} yen already "
                     "approved this fiscal year, so ${total} yen remain.", mapping=mapping)
        return _("Cap: ${cap} yen per application.", mapping=mapping)

    def as_record(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_record(cls, record) -> "Payable":
        return cls(**{k: v for k, v in (record or {}).items() if k in cls.__dataclass_fields__})


def compute_payable(measure, costs, *, used_this_year=0) -> Payable:
    """The amount for checked cost lines (see ``checked_costs``), rounded down and capped."""
    if not measure.pays_money:
        return Payable(amount=0, numerator=0, denominator=measure.rate_denominator)
    total = sum(line["amount"] for line in costs)
    nights = sum(line.get("nights") or 0 for line in costs)
    raw = total * measure.rate_numerator // measure.rate_denominator
    if measure.cap_unit == "per_night":
        cap_total = measure.cap_yen * nights
    elif measure.cap_unit == "per_person_year":
        cap_total = max(measure.cap_yen - used_this_year, 0)
    else:
        cap_total = measure.cap_yen
    return Payable(
        amount=min(raw, cap_total), costs=total, nights=nights,
        numerator=measure.rate_numerator, denominator=measure.rate_denominator, raw=raw,
        cap_unit=measure.cap_unit, cap_yen=measure.cap_yen, cap_total=cap_total,
        used_this_year=used_this_year if measure.cap_unit == "per_person_year" else 0,
    )


def fiscal_year_bounds(moment) -> tuple:
    """The Japanese fiscal year (年度, 1 April – 31 March, Japan time) around ``moment``."""
    local = to_tokyo(moment)
    year = local.year if local.month >= 4 else local.year - 1
    start = datetime(year, 4, 1, tzinfo=TOKYO).astimezone(timezone.utc)
    end = datetime(year + 1, 4, 1, tzinfo=TOKYO).astimezone(timezone.utc)
    return start, end


# -- input --------------------------------------------------------------------------


def parse_whole_number(text):
    """Digits typed any way (全角, with commas or 円) as an int; None when empty;
    ValueError when it is not a whole number of zero or more."""
    cleaned = unicodedata.normalize("NFKC", str(text or "")).strip()
    for mark in (",", "円", "¥", " "):
        cleaned = cleaned.replace(mark, "")
    if not cleaned:
        return None
    if not (cleaned.isascii() and cleaned.isdigit()) or len(cleaned) > 12:
        raise ValueError(text)
    return int(cleaned)


def checked_form_fields(fields, existing) -> list:
    """The measure's own questions as stored: ``[{"key", "label", "kind", "required"}]``."""
    return keyed_questions(fields, existing, prefix="f", field="form_fields",
                           label_max=FIELD_LABEL_MAX, count_max=FIELDS_MAX,
                           describe=_field_kind)


def _field_kind(field, label) -> dict:
    kind = field.get("kind") or "text"
    if kind not in FIELD_KINDS:
        raise InvalidInput(_("“${label}”: the kind of answer must be text, number, date "
                             "or yen.", mapping={"label": label}), field="form_fields")
    return {"kind": kind}


def checked_answers(fields, answers) -> dict:
    """Answers by key, each checked and stored by its kind (text, whole number, yen,
    ISO date); required questions must be answered."""
    answers = answers or {}
    result = {}
    for field in fields:
        raw = str(answers.get(field["key"]) or "").strip()
        if not raw:
            if field["required"]:
                raise InvalidInput(_("Please answer: ${label}",
                                     mapping={"label": field["label"]}), field=field["key"])
            result[field["key"]] = None
            continue
        result[field["key"]] = _answer_value(field, raw)
    return result


def _answer_value(field, raw):
    mapping = {"label": field["label"]}
    if field["kind"] == "text":
        if len(raw) > ANSWER_MAX:
            raise InvalidInput(_("At most ${max} characters.", mapping={"max": ANSWER_MAX}),
                               field=field["key"])
        return raw
    if field["kind"] == "date":
        try:
            return date.fromisoformat(
                unicodedata.normalize("NFKC", raw).replace("/", "-")).isoformat()
        except ValueError:
            raise InvalidInput(_("Enter a date as YYYY-MM-DD for: ${label}", mapping=mapping),
                               field=field["key"]) from None
    try:
        value = parse_whole_number(raw)
    except ValueError:
        value = None
    if value is None or value > NUMBER_MAX:
        message = (_("Enter an amount in yen, in digits, for: ${label}", mapping=mapping)
                   if field["kind"] == "yen"
                   else _("Enter a whole number for: ${label}", mapping=mapping))
        raise InvalidInput(message, field=field["key"])
    return value


def checked_costs(measure, lines) -> list:
    """Eligible cost lines ``[{"label", "amount", "nights"}]``: what each was for, its
    amount in whole yen and, for a per-night cap, the nights it covers. Empty lines are
    left out; a measure that pays money needs at least one line."""
    result = []
    per_night = measure.cap_unit == "per_night"
    for number, line in enumerate(lines, start=1):
        label = " ".join(str(line.get("label") or "").split())
        amount, nights = line.get("amount"), line.get("nights")
        if not label and amount is None and not nights:
            continue
        mapping = {"n": number}
        if not label or len(label) > COST_LABEL_MAX:
            raise InvalidInput(_("Cost ${n}: say what it was for (at most ${max} characters).",
                                 mapping={**mapping, "max": COST_LABEL_MAX}), field="costs")
        if amount is None or not 1 <= amount <= COST_AMOUNT_MAX:
            raise InvalidInput(_("Cost ${n}: enter the amount in yen (1 to ${max}).",
                                 mapping={**mapping, "max": yen(COST_AMOUNT_MAX)}),
                               field="costs")
        if per_night and not (nights and 1 <= nights <= NIGHTS_MAX):
            raise InvalidInput(_("Cost ${n}: enter the number of nights it covers.",
                                 mapping=mapping), field="costs")
        result.append({"label": label, "amount": amount, "nights": nights if per_night else 0})
    if len(result) > COST_LINES_MAX:
        raise InvalidInput(_("At most ${max} cost lines.", mapping={"max": COST_LINES_MAX}),
                           field="costs")
    if measure.pays_money and not result:
        raise InvalidInput(_("Enter at least one eligible cost, with its amount."),
                           field="costs")
    if not measure.pays_money and result:
        raise InvalidInput(_("This measure pays no money, so there are no costs to enter."),
                           field="costs")
    return result


@dataclass(frozen=True)
class Upload:
    """A file as the view received it: the name the browser gave and its bytes."""

    filename: str
    data: bytes


def checked_receipt(upload: Upload, limit: int) -> dict:
    """A receipt's type is read from its content (the name and the browser's claim are
    ignored): PDF, JPEG or PNG only, at most ``limit`` bytes."""
    name = os.path.basename((upload.filename or "").replace("\\", "/"))
    name = "".join(ch for ch in name if ch.isprintable())[:FILENAME_MAX] or "receipt"
    mapping = {"name": name, "mb": round(limit / 1024 / 1024, 1)}
    if not upload.data:
        raise InvalidInput(_("The file “${name}” is empty.", mapping=mapping), field="receipts")
    if len(upload.data) > limit:
        raise InvalidInput(_("The file “${name}” is larger than ${mb} MB. Send a smaller "
                             "photo or scan.", mapping=mapping), field="receipts")
    media_type = next((kind for signature, kind in RECEIPT_SIGNATURES
                       if upload.data.startswith(signature)), None)
    if media_type is None:
        raise InvalidInput(_("The file “${name}” is not a PDF, JPEG or PNG file. Send a "
                             "photo (JPEG or PNG) or a PDF scan of the receipt.",
                             mapping=mapping), field="receipts")
    return {"filename": name, "media_type": media_type, "byte_size": len(upload.data),
            "data": upload.data}


def checked_receipts(measure, uploads, limit: int) -> list:
    """Each sent receipt checked (``checked_receipt``); at most ``RECEIPTS_MAX``, and at
    least one for a measure that pays money."""
    files = [checked_receipt(upload, limit) for upload in uploads if upload is not None]
    if len(files) > RECEIPTS_MAX:
        raise InvalidInput(_("At most ${max} receipts.", mapping={"max": RECEIPTS_MAX}),
                           field="receipts")
    if measure.pays_money and not files:
        raise InvalidInput(_("Attach the receipts for your costs (PDF, JPEG or PNG)."),
                           field="receipts")
    return files
