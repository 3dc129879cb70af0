"""Questions an organiser writes for an application form (申込フォームの独自項目), as stored:
``[{"key", "label", ..., "required"}]``. Projects and support measures keep them alike."""
from ..i18n import _
from .errors import InvalidInput


def keyed_questions(items, existing, *, prefix, field, label_max, count_max,
                    describe=None) -> list:
    """The questions after the rules, each keyed ``<prefix><n>``.

    A question keeps its key while its wording stays the same, so answers already
    given stay attached to it; a new wording gets a new key. ``describe(item, label)``
    checks and returns what a kind of form stores besides the label (e.g. ``kind``)."""
    keys = {q["label"]: q["key"] for q in existing}
    number = max((int(q["key"][1:]) for q in existing if q["key"][1:].isdigit()), default=0)
    result = []
    for item in items:
        label = " ".join((item.get("label") or "").split())
        if not label:
            continue
        extra = describe(item, label) if describe else {}
        if len(label) > label_max:
            raise InvalidInput(_("A question can have at most ${max} characters.",
                                 mapping={"max": label_max}), field=field)
        if label in (q["label"] for q in result):
            raise InvalidInput(_("The question “${label}” is there twice.",
                                 mapping={"label": label}), field=field)
        if label not in keys:
            number += 1
            keys[label] = f"{prefix}{number}"
        result.append({"key": keys[label], "label": label, **extra,
                       "required": bool(item.get("required"))})
    if len(result) > count_max:
        raise InvalidInput(_("At most ${max} questions.", mapping={"max": count_max}),
                           field=field)
    return result
