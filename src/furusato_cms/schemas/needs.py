"""Forms of the needs intake (地域課題・担い手ニーズ): submitting one, declining one with a
reason, making one into a project."""
import colander
import deform

from ..forms import CSRFSchema
from ..i18n import _
from ..interests import INTERESTS
from .fields import Text, text_node
from .projects import choices_widget

PEOPLE_MAX = 1000


class NeedSchema(CSRFSchema):
    title = text_node(_("What is needed"), 200,
                      description=_("In a few words, e.g. “Help with the rice harvest”."))
    description = text_node(_("Details of the need"), 4000, rows=6,
                            description=_("What the work is and why help is needed."))
    place = text_node(_("Where"), 300, required=False)
    timing = text_node(_("When (a time of year or a date)"), 200, required=False,
                       description=_("e.g. “Weekends in May” or a date."))
    people_wanted = colander.SchemaNode(
        colander.Integer(), title=_("How many people"), missing=None,
        validator=colander.Range(1, PEOPLE_MAX, min_err=_("From 1 to ${max} people.",
                                                          mapping={"max": PEOPLE_MAX}),
                                 max_err=_("From 1 to ${max} people.",
                                           mapping={"max": PEOPLE_MAX})),
        widget=deform.widget.TextInputWidget(attributes={"inputmode": "numeric"}))
    skills = text_node(_("Skills that help"), 500, required=False)
    contact = text_node(_("How the site can reach you about it"), 300, required=False,
                        description=_("Only the site's staff see this."))


class DeclineSchema(CSRFSchema):
    reason = text_node(_("Why it is declined"), 2000, rows=3,
                       description=_("The person who sent it reads this."))


class MakeProjectSchema(CSRFSchema):
    field = colander.SchemaNode(
        Text(), title=_("Field of the activity"), validator=colander.OneOf(tuple(INTERESTS)),
        widget=choices_widget(INTERESTS, tuple(INTERESTS)))
