"""Forms for support measures, partner offers, applications and decisions.

The schemas shape the input; ``services/support.py`` checks every rule again (the
families, the confirmation, rates, caps, answers by kind, receipts). Family and kind
of business have no validator here on purpose: a value outside the lists gets the
service's no-return-gift message, not a generic "not one of".
"""
import colander
import deform

from ..forms import CSRFSchema
from ..i18n import _
from ..models.support import (
    ACTIVITY_FAMILIES,
    APPLICANT_TIERS,
    CAP_UNITS,
    OFFER_KINDS,
    RESIDENT_FAMILIES,
)
from ..services.publishing import BODY_MAX, SUMMARY_MAX, TITLE_MAX
from ..services.support import (
    APPLICANT_LABELS,
    BUSINESS_MAX,
    CAP_UNIT_LABELS,
    FAMILY_LABELS,
    GROUP_LABELS,
    OFFER_KIND_LABELS,
    PLACE_MAX,
    RATE_DENOMINATOR_MAX,
    REASON_MAX,
)
from ..services.support_rules import (
    ANSWER_MAX,
    COST_LABEL_MAX,
    FIELD_KINDS,
    FIELDS_MAX,
    NIGHTS_MAX,
    parse_whole_number,
)
from .content import MARKDOWN_HELP, TokyoDateTime, markdown_widget
from .fields import TEXT_MAX, Text
from .projects import _strip, _text

REQUIRED_MARKS = ("*", "＊")
KIND_SEPARATORS = ("|", "｜")
COST_FORM_LINES = 5
RECEIPT_FORM_FILES = 3
NUMERIC = {"inputmode": "numeric", "autocomplete": "off"}


class Yen(colander.SchemaType):
    """A whole number of yen, typed with or without commas, 円 or full-width digits."""

    def serialize(self, node, appstruct):
        if appstruct in (colander.null, None):
            return colander.null
        return str(appstruct)

    def deserialize(self, node, cstruct):
        if cstruct in (colander.null, None):
            return colander.null
        try:
            value = parse_whole_number(cstruct)
        except ValueError:
            raise colander.Invalid(node, _("Enter an amount in yen, in digits (e.g. 300000)."))
        return colander.null if value is None else value


class FieldLines(colander.SchemaType):
    """The measure's own questions, one per line: ``* label | kind``; ``*`` makes it
    required, kind is text (the default), number, date or yen."""

    def serialize(self, node, appstruct):
        if appstruct in (colander.null, None):
            return colander.null
        return "\n".join(
            ("* " if f.get("required") else "") + f["label"]
            + ("" if f.get("kind", "text") == "text" else " | " + f["kind"])
            for f in appstruct
        )

    max_length = TEXT_MAX

    def deserialize(self, node, cstruct):
        cstruct = Text(self.max_length, multiline=True).deserialize(node, cstruct)
        if cstruct in (colander.null, None):
            return colander.null
        fields = []
        for line in cstruct.splitlines():
            line = line.strip()
            required = line.startswith(REQUIRED_MARKS)
            line = line[1:].strip() if required else line
            for separator in KIND_SEPARATORS:
                line = line.replace(separator, "|")
            label, _sep, kind = line.rpartition("|") if "|" in line else (line, "", "text")
            label, kind = label.strip(), kind.strip().lower() or "text"
            if not label:
                continue
            if kind not in FIELD_KINDS:
                raise colander.Invalid(node, _("“${label}”: the kind of answer must be text, "
                                               "number, date or yen.", mapping={"label": label}))
            fields.append({"label": label, "kind": kind, "required": required})
        if len(fields) > FIELDS_MAX:
            raise colander.Invalid(node, _("At most ${max} questions.",
                                           mapping={"max": FIELDS_MAX}))
        return fields


def _labelled_choices(labels, keys, widget_class=deform.widget.RadioChoiceWidget):
    @colander.deferred
    def widget(node, kw):
        translate = kw["request"].localizer.translate
        return widget_class(values=[(key, translate(labels[key])) for key in keys])
    return widget


@colander.deferred
def _family_widget(node, kw):
    """Families in their two groups (活動支援 / 住民同等の支援) and nothing else."""
    translate = kw["request"].localizer.translate

    def group(name, keys):
        return deform.widget.OptGroup(translate(GROUP_LABELS[name]),
                                      *[(k, translate(FAMILY_LABELS[k])) for k in keys])

    return deform.widget.SelectWidget(values=[
        ("", translate(_("Choose the family"))),
        group("activity", ACTIVITY_FAMILIES), group("resident", RESIDENT_FAMILIES),
    ])


def _yen(title, description=None, *, required=True):
    return colander.SchemaNode(
        Yen(), title=title, description=description,
        missing=colander.required if required else None,
        widget=deform.widget.TextInputWidget(attributes=NUMERIC),
    )


def _whole(title, description=None, *, minimum=0, maximum=None, missing=colander.required):
    message = _("Enter a whole number from ${min} to ${max}.",
                mapping={"min": minimum, "max": maximum})
    return colander.SchemaNode(
        colander.Integer(), title=title, description=description, missing=missing,
        validator=colander.Range(minimum, maximum, min_err=message, max_err=message),
        widget=deform.widget.TextInputWidget(
            attributes={**NUMERIC, "type": "number", "min": minimum, "max": maximum}),
    )


def _moment(title, description):
    return colander.SchemaNode(
        TokyoDateTime(), title=title, description=description, missing=None,
        widget=deform.widget.TextInputWidget(
            attributes={"type": "datetime-local", "placeholder": "2026-12-01 09:00"}),
    )


def _confirmation(title):
    return colander.SchemaNode(colander.Boolean(), title=title, missing=False,
                               widget=deform.widget.CheckboxWidget())


def _version():
    return colander.SchemaNode(colander.Integer(), widget=deform.widget.HiddenWidget(),
                               missing=None)


LOCAL_BENEFIT = _("I confirm: this is a benefit used in the region or for activity there — "
                  "not a return gift (返礼品) sent to people who do not come.")


class MeasureSchema(CSRFSchema):
    title = _text(_("Title"), TITLE_MAX, description=_("e.g. お試し移住の交通費補助"))
    family = colander.SchemaNode(Text(), title=_("Family of support"),
                                 widget=_family_widget)
    applicants = colander.SchemaNode(
        Text(), title=_("Who may apply"),
        description=_("Basic registrants may apply only for activity support."),
        widget=_labelled_choices(APPLICANT_LABELS, APPLICANT_TIERS),
    )
    summary = _text(_("Summary"), SUMMARY_MAX, required=False, rows=3,
                    description=_("One or two sentences shown in lists."))
    body = _text(_("Description"), BODY_MAX, required=False, description=MARKDOWN_HELP,
                 widget=markdown_widget("support", rows=12), multiline=True)
    rate_numerator = _whole(
        _("Rate: numerator"), _("The share of eligible costs paid, as a fraction: 3 and 4 "
                                "for 3/4. A numerator of 0 pays no money (the approval "
                                "itself is the support)."), maximum=RATE_DENOMINATOR_MAX)
    rate_denominator = _whole(_("Rate: denominator"), minimum=1, maximum=RATE_DENOMINATOR_MAX)
    cap_yen = _yen(_("Cap (yen)"), _("e.g. 300000. Leave empty for a measure that pays no "
                                     "money."), required=False)
    cap_unit = colander.SchemaNode(
        Text(), title=_("The cap counts"),
        widget=_labelled_choices(CAP_UNIT_LABELS, CAP_UNITS),
    )
    budget_yen = _yen(_("Budget of the measure (yen)"),
                      _("Approvals stop when approved and paid amounts reach it."),
                      required=False)
    form_fields = colander.SchemaNode(
        FieldLines(), title=_("Questions on the application form"), missing=(),
        description=_("One question per line, at most ${max}. Start with * for a required "
                      "question; end with | number, | date or | yen for answers of that "
                      "kind, e.g. “* Date of the visit | date”. Costs and receipts are "
                      "always asked.", mapping={"max": FIELDS_MAX}),
        widget=deform.widget.TextAreaWidget(rows=4),
    )
    confirmed_local_benefit = _confirmation(LOCAL_BENEFIT)
    publish_at = _moment(_("Show from (Japan time)"),
                         _("Leave empty to show as soon as it is published."))
    expire_at = _moment(_("Show until (Japan time)"), _("Leave empty to keep it shown."))
    expected_version = _version()


class OfferSchema(CSRFSchema):
    title = _text(_("Title"), TITLE_MAX, description=_("e.g. そば処 松葉: お会計10%割引"))
    business_name = _text(_("Business"), BUSINESS_MAX, description=_("e.g. そば処 松葉"))
    business_kind = colander.SchemaNode(
        Text(), title=_("Kind of business"),
        widget=_labelled_choices(OFFER_KIND_LABELS, OFFER_KINDS, deform.widget.SelectWidget),
    )
    place = _text(_("Where it is used"), PLACE_MAX,
                  description=_("The address or landmark of the counter in the region."))
    summary = _text(_("The offer"), SUMMARY_MAX, rows=2,
                    description=_("e.g. 10% off the bill for registrants"))
    body = _text(_("Details of the offer"), BODY_MAX, required=False, rows=8,
                 description=MARKDOWN_HELP)
    applicants = colander.SchemaNode(
        Text(), title=_("Who may use it"),
        widget=_labelled_choices(APPLICANT_LABELS, APPLICANT_TIERS),
    )
    confirmed_local_benefit = _confirmation(LOCAL_BENEFIT)
    publish_at = _moment(_("Show from (Japan time)"),
                         _("Leave empty to show as soon as it is published."))
    expire_at = _moment(_("Show until (Japan time)"), _("Leave empty to keep it shown."))
    expected_version = _version()


def content_schema(schema_class, *, new: bool):
    schema = schema_class()
    if new:
        del schema["expected_version"]
    return schema


# -- applications -------------------------------------------------------------------

ANSWER_WIDGETS = {
    "text": lambda: deform.widget.TextAreaWidget(rows=2),
    "number": lambda: deform.widget.TextInputWidget(attributes=NUMERIC),
    "yen": lambda: deform.widget.TextInputWidget(attributes=NUMERIC),
    "date": lambda: deform.widget.TextInputWidget(attributes={"type": "date"}),
}


class _NoStore(dict):
    """deform's upload widget wants a store to re-show a file; none is kept between
    requests (the browser asks for the file again)."""

    def preview_url(self, uid):
        return None


def application_schema(measure) -> CSRFSchema:
    """The form's one-time token (see ``SupportService.apply``), the measure's own
    questions (by key), then its cost lines and receipts when it pays money."""
    schema = CSRFSchema()
    schema.add(colander.SchemaNode(
        Text(64), name="request_token", missing="", widget=deform.widget.HiddenWidget()))
    for field in measure.form_fields or ():
        schema.add(colander.SchemaNode(
            Text(ANSWER_MAX, multiline=True), name=field["key"], title=field["label"],
            preparer=_strip,
            missing=colander.required if field["required"] else "",
            missing_msg=_("Please answer this question."),
            validator=colander.Length(max=ANSWER_MAX, max_err=_(
                "At most ${max} characters.", mapping={"max": ANSWER_MAX})),
            widget=ANSWER_WIDGETS[field["kind"]](),
        ))
    if not measure.pays_money:
        return schema
    per_night = measure.cap_unit == "per_night"
    for number in range(1, COST_FORM_LINES + 1):
        mapping = {"n": number}
        schema.add(_named(_text(_("Cost ${n}: what it was for", mapping=mapping),
                                COST_LABEL_MAX, required=False,
                                description=_("e.g. 新幹線 東京–長野 往復") if number == 1 else None),
                          f"cost{number}_label"))
        schema.add(_named(_yen(_("Cost ${n}: amount (yen)", mapping=mapping), required=False),
                          f"cost{number}_amount"))
        if per_night:
            schema.add(_named(_whole(_("Cost ${n}: nights", mapping=mapping), minimum=1,
                                     maximum=NIGHTS_MAX, missing=None),
                              f"cost{number}_nights"))
    for number in range(1, RECEIPT_FORM_FILES + 1):
        schema.add(colander.SchemaNode(
            deform.FileData(), name=f"receipt{number}", missing=None,
            title=_("Receipt ${n}", mapping={"n": number}),
            description=_("PDF, JPEG or PNG. A clear photo of the receipt is fine.")
            if number == 1 else None,
            widget=deform.widget.FileUploadWidget(
                _NoStore(), accept="application/pdf,image/jpeg,image/png"),
        ))
    return schema


def _named(node, name):
    node.name = name
    return node


def cost_lines(data) -> list:
    """The form's cost lines as the service takes them."""
    return [{"label": data.get(f"cost{n}_label", ""), "amount": data.get(f"cost{n}_amount"),
             "nights": data.get(f"cost{n}_nights")}
            for n in range(1, COST_FORM_LINES + 1)]


def answers_of(measure, data) -> dict:
    return {field["key"]: data.get(field["key"], "") for field in measure.form_fields or ()}


def receipt_files(data) -> list:
    """The uploaded receipts' FileData dicts, in order, without the empty slots."""
    return [data[f"receipt{n}"] for n in range(1, RECEIPT_FORM_FILES + 1)
            if data.get(f"receipt{n}")]


class RejectSchema(CSRFSchema):
    reason = _text(_("Reason (the applicant sees it)"), REASON_MAX, rows=4)
