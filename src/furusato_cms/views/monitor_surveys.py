"""Monitor survey screens (モニターアンケート).

Editors and site admins (``site:monitor_surveys:manage``): /s/{code}/surveys/ (list),
``new``, /s/{code}/surveys/{id}/manage (questions, open, close, delete), ``edit``,
``questions/new``, ``questions/{id}/edit|move|remove``, ``results`` (bar charts drawn
as SVG on the server, each with a table of the same numbers) and ``results.csv``.
Registrants: /s/{code}/surveys/{id} (answer, if in the target group) and /my/surveys
(the open surveys for them). Rules are in ``services/monitor_surveys.py``; the answer
form is the registration survey's (``schemas/survey.question_nodes``).
"""
import deform
from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.response import Response
from pyramid.view import view_config

from ..clock import to_tokyo
from ..forms import CSRFSchema, button, flash, make_form, refusal_status_of, submit, validate
from ..i18n import _
from ..permissions import Permissions as P
from ..resources.community import (
    MonitorQuestionResource,
    MonitorQuestionsContainer,
    MonitorSurveyResource,
    MonitorSurveysContainer,
)
from ..resources.my import MyArea
from ..schemas.community import MonitorSurveySchema
from ..schemas.survey import question_appstruct, question_nodes, question_schema
from ..services.errors import ServiceError
from ..services.monitor_surveys import STATE_LABELS, MonitorSurveyService, target_text
from ..services.survey import KIND_LABELS, choice_label, choices_to_text
from .registration import refused_form

CHART_WIDTH = 360
"""Pixels of the longest possible bar (100 %) in the SVG charts."""
LABEL_CHARS = 14


def _service(request) -> MonitorSurveyService:
    return request.service(MonitorSurveyService)


def _manage_url(request, survey):
    return request.application_url + f"/s/{survey.site.code}/surveys/{survey.id}/manage"


# -- editors: surveys -------------------------------------------------------------------------

@view_config(context=MonitorSurveysContainer, renderer="community/surveys.jinja2",
             permission=P.MONITOR_SURVEY_MANAGE, request_method="GET")
def survey_list(context, request):
    service = _service(request)
    surveys = service.surveys_of(context.site)
    translate = request.localizer.translate
    return {"surveys": surveys, "counts": service.response_counts(context.site),
            "states": STATE_LABELS, "targets": {s.id: target_text(s, translate) for s in surveys}}


def _survey_form(request, title):
    return make_form(request, MonitorSurveySchema(), buttons=(button(request, "save", title),))


@view_config(context=MonitorSurveysContainer, name="new", renderer="community/survey_form.jinja2",
             permission=P.MONITOR_SURVEY_MANAGE, request_method="GET")
def new_survey(context, request):
    return {"form": _survey_form(request, _("Create the survey")).render(), "survey": None}


@view_config(context=MonitorSurveysContainer, name="new", renderer="community/survey_form.jinja2",
             permission=P.MONITOR_SURVEY_MANAGE, request_method="POST")
def create_survey(context, request):
    outcome = submit(request, _survey_form(request, _("Create the survey")), lambda values:
                     _service(request).create(request.actor, context.site, **values))
    if outcome.failed:
        return {"form": outcome.form_html, "survey": None}
    flash(request, _("The survey was created as a draft. Add its questions."))
    return HTTPSeeOther(_manage_url(request, outcome.result))


def _manage_page(context, request, error=None):
    survey = context.survey
    service = _service(request)
    by_id = {q.id: q for q in survey.questions}
    return {
        "survey": survey, "states": STATE_LABELS, "kinds": KIND_LABELS,
        "target": target_text(survey, request.localizer.translate),
        "target_count": service.target_count(survey),
        "responses": service.response_counts(context.site).get(survey.id, 0),
        "conditions": {q.id: _condition_text(q, by_id) for q in survey.questions},
        "error": error,
    }


def _condition_text(question, by_id):
    condition = by_id.get(question.show_if_question_id)
    if condition is None:
        return None
    return _("When “${choice}” is chosen in “${question}”",
             mapping={"choice": choice_label(condition, question.show_if_choice),
                      "question": condition.label})


@view_config(context=MonitorSurveyResource, name="manage",
             renderer="community/survey_manage.jinja2", permission=P.MONITOR_SURVEY_MANAGE,
             request_method="GET")
def manage(context, request):
    return _manage_page(context, request)


@view_config(context=MonitorSurveyResource, name="edit", renderer="community/survey_form.jinja2",
             permission=P.MONITOR_SURVEY_MANAGE, request_method="GET")
def edit_survey(context, request):
    survey = context.survey
    values = {"title": survey.title, "description": survey.description,
              "target_tier": survey.target_tier,
              "target_relationship_type": survey.target_relationship_type}
    return {"form": _survey_form(request, _("Save")).render(values), "survey": survey}


@view_config(context=MonitorSurveyResource, name="edit", renderer="community/survey_form.jinja2",
             permission=P.MONITOR_SURVEY_MANAGE, request_method="POST")
def save_survey(context, request):
    outcome = submit(request, _survey_form(request, _("Save")), lambda values:
                     _service(request).update(request.actor, context.survey, **values))
    if outcome.failed:
        return {"form": outcome.form_html, "survey": context.survey}
    flash(request, _("The survey was saved."))
    return HTTPSeeOther(_manage_url(request, context.survey))


def _manage_action(context, request, action, done, to=None):
    """A POST button on the manage page: do it, or show the page again with the reason."""
    try:
        action()
    except ServiceError as exc:
        request.response.status_int = refusal_status_of(exc)
        return _manage_page(context, request, error=exc.message)
    flash(request, done)
    return HTTPSeeOther(to or _manage_url(request, context.survey))


@view_config(context=MonitorSurveyResource, name="open", renderer="community/survey_manage.jinja2",
             permission=P.MONITOR_SURVEY_MANAGE, request_method="POST")
def open_survey(context, request):
    return _manage_action(context, request,
                          lambda: _service(request).open(request.actor, context.survey),
                          _("The survey is open. The people in its target group can answer."))


@view_config(context=MonitorSurveyResource, name="close",
             renderer="community/survey_manage.jinja2", permission=P.MONITOR_SURVEY_MANAGE,
             request_method="POST")
def close_survey(context, request):
    return _manage_action(context, request,
                          lambda: _service(request).close(request.actor, context.survey),
                          _("The survey is closed. No more answers are taken."))


@view_config(context=MonitorSurveyResource, name="delete",
             renderer="community/survey_manage.jinja2", permission=P.MONITOR_SURVEY_MANAGE,
             request_method="POST")
def delete_survey(context, request):
    return _manage_action(context, request,
                          lambda: _service(request).delete(request.actor, context.survey),
                          _("The draft was deleted."),
                          to=request.resource_url(context.__parent__))


# -- editors: questions ---------------------------------------------------------------------

def _question_form(request, survey, kind=None, before=None):
    title = _("Add the question") if kind is None else _("Save")
    return make_form(request, question_schema(kind), buttons=(button(request, "save", title),),
                     show_if_options=_service(request).show_if_options(survey, before=before))


@view_config(context=MonitorQuestionsContainer, name="new",
             renderer="community/question_form.jinja2", permission=P.MONITOR_SURVEY_MANAGE,
             request_method="GET")
def new_question(context, request):
    defaults = {"kind": "single", "scale_min": 1, "scale_max": 5}
    return {"survey": context.survey, "question": None, "kinds": KIND_LABELS,
            "form": _question_form(request, context.survey).render(defaults)}


@view_config(context=MonitorQuestionsContainer, name="new",
             renderer="community/question_form.jinja2", permission=P.MONITOR_SURVEY_MANAGE,
             request_method="POST")
def add_question(context, request):
    outcome = submit(request, _question_form(request, context.survey), lambda values:
                     _service(request).add_question(request.actor, context.survey, **values))
    if outcome.failed:
        return {"survey": context.survey, "question": None, "kinds": KIND_LABELS,
                "form": outcome.form_html}
    flash(request, _("The question was added at the end of the list."))
    return HTTPSeeOther(_manage_url(request, context.survey))


def _edit_question_form(request, context):
    question = context.question
    return _question_form(request, context.survey, question.kind, before=question)


@view_config(context=MonitorQuestionResource, name="edit",
             renderer="community/question_form.jinja2", permission=P.MONITOR_SURVEY_MANAGE,
             request_method="GET")
def edit_question(context, request):
    question = context.question
    return {"survey": context.survey, "question": question, "kinds": KIND_LABELS,
            "form": _edit_question_form(request, context).render(
                question_appstruct(question, choices_to_text(question)))}


@view_config(context=MonitorQuestionResource, name="edit",
             renderer="community/question_form.jinja2", permission=P.MONITOR_SURVEY_MANAGE,
             request_method="POST")
def save_question(context, request):
    outcome = submit(request, _edit_question_form(request, context), lambda values:
                     _service(request).update_question(request.actor, context.question, **values))
    if outcome.failed:
        return {"survey": context.survey, "question": context.question, "kinds": KIND_LABELS,
                "form": outcome.form_html}
    flash(request, _("The question was saved."))
    return HTTPSeeOther(_manage_url(request, context.survey))


def _survey_context(context):
    """The survey's resource above a question (for the manage page on a refusal)."""
    return context.__parent__.__parent__


@view_config(context=MonitorQuestionResource, name="move",
             renderer="community/survey_manage.jinja2", permission=P.MONITOR_SURVEY_MANAGE,
             request_method="POST")
def move_question(context, request):
    direction = request.POST.get("direction", "")
    return _manage_action(
        _survey_context(context), request,
        lambda: _service(request).move_question(request.actor, context.question, direction),
        _("The order was changed."))


@view_config(context=MonitorQuestionResource, name="remove",
             renderer="community/survey_manage.jinja2", permission=P.MONITOR_SURVEY_MANAGE,
             request_method="POST")
def remove_question(context, request):
    return _manage_action(
        _survey_context(context), request,
        lambda: _service(request).remove_question(request.actor, context.question),
        _("The question was removed."))


# -- results ----------------------------------------------------------------------------------

def short_label(label) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


@view_config(context=MonitorSurveyResource, name="results",
             renderer="community/survey_results.jinja2", permission=P.MONITOR_SURVEY_MANAGE,
             request_method="GET")
def results(context, request):
    survey = context.survey
    return {"survey": survey, "results": _service(request).results(survey),
            "states": STATE_LABELS, "chart_width": CHART_WIDTH, "short_label": short_label,
            "target": target_text(survey, request.localizer.translate)}


@view_config(context=MonitorSurveyResource, name="results.csv",
             permission=P.MONITOR_SURVEY_MANAGE, request_method="GET")
def results_csv(context, request):
    survey = context.survey
    data = _service(request).export_csv(request.actor, survey,
                                        translate=request.localizer.translate)
    day = to_tokyo(request.clock()).strftime("%Y%m%d")
    response = Response(body=data, content_type="text/csv", charset="utf-8")
    response.content_disposition = (
        f'attachment; filename="monitor-survey-{survey.site.code}-{survey.id}-{day}.csv"')
    response.cache_control = "no-store"
    return response


# -- registrants ------------------------------------------------------------------------------

def _answer_form(request, survey):
    schema = CSRFSchema()
    for node in question_nodes(list(survey.questions)):
        schema.add(node)
    return make_form(request, schema, buttons=(button(request, "send", _("Send my answers")),))


def _answer_page(request, survey, *, form_html=None, refusal=None):
    return {"survey": survey, "form": form_html, "refusal": refusal}


def _published(context):
    """A draft is nobody's business but the editors': registrants get "not found"."""
    if context.survey.state == "draft":
        raise HTTPNotFound()
    return context.survey


def _refusal(request, survey):
    """Why the person cannot answer now (the status says it too), or None."""
    try:
        _service(request).check_may_answer(request.identity.account, survey)
    except ServiceError as exc:
        request.response.status_int = refusal_status_of(exc)
        return exc.message
    return None


@view_config(context=MonitorSurveyResource, renderer="community/survey_answer.jinja2",
             permission=P.MONITOR_SURVEY_ANSWER, request_method="GET")
def answer_form(context, request):
    survey = _published(context)
    refusal = _refusal(request, survey)
    if refusal is not None:
        return _answer_page(request, survey, refusal=refusal)
    return _answer_page(request, survey, form_html=_answer_form(request, survey).render())


@view_config(context=MonitorSurveyResource, renderer="community/survey_answer.jinja2",
             permission=P.MONITOR_SURVEY_ANSWER, request_method="POST")
def answer(context, request):
    """Answers refused question by question come back on their fields; a survey that
    closed, or an answer already given (also by a simultaneous submission), is said so."""
    survey = _published(context)
    form = _answer_form(request, survey)
    try:
        _service(request).submit(request.identity.account, survey, validate(request, form))
    except deform.ValidationFailure as failure:
        request.response.status_int = 400
        return _answer_page(request, survey, form_html=failure.render())
    except ServiceError as exc:
        refusal = _refusal(request, survey)
        if refusal is not None:
            return _answer_page(request, survey, refusal=refusal)
        request.response.status_int = 400
        return _answer_page(request, survey, form_html=refused_form(form, exc))
    flash(request, _("Thank you! Your answers were sent."))
    return HTTPSeeOther(request.application_url + "/my/surveys")


@view_config(context=MyArea, name="surveys", renderer="community/my_surveys.jinja2",
             permission=P.REGISTRANT_SELF, request_method="GET")
def my_surveys(request):
    return {"surveys": _service(request).open_for(request.identity.account)}
