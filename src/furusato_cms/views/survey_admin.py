"""Editors' screens for the site's own survey questions (登録時アンケートの独自項目), and
the CSV export of answers for site admins. Rules are in ``services/survey.py``."""
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.response import Response
from pyramid.view import view_config

from ..clock import to_tokyo
from ..forms import button, flash, make_form, refusal_status_of, submit
from ..i18n import _
from ..permissions import Permissions as P
from ..resources.survey import SurveyContainer, SurveyQuestionResource
from ..schemas.survey import question_appstruct, question_schema
from ..services.errors import ServiceError
from ..services.survey import KIND_LABELS, SurveyService, choice_label, choices_to_text

LIST_RENDERER = "survey_admin/list.jinja2"
NEW_RENDERER = "survey_admin/new.jinja2"
EDIT_RENDERER = "survey_admin/edit.jinja2"


def _service(request) -> SurveyService:
    return request.service(SurveyService)


def _list_page(context, request, error=None):
    service = _service(request)
    questions = service.all_questions(context.site)
    by_id = {question.id: question for question in questions}
    return {
        "questions": questions,
        "conditions": {q.id: _condition_text(q, by_id) for q in questions},
        "answer_counts": service.answer_counts(context.site),
        "kinds": KIND_LABELS,
        "may_export": bool(request.has_permission(P.REGISTRATIONS_EXPORT, context)),
        "error": error,
    }


def _condition_text(question, by_id):
    condition = by_id.get(question.show_if_question_id)
    if condition is None:
        return None
    return _("When “${choice}” is chosen in “${question}”",
             mapping={"choice": choice_label(condition, question.show_if_choice),
                      "question": condition.label})


@view_config(context=SurveyContainer, renderer=LIST_RENDERER, permission=P.SURVEY_MANAGE,
             request_method="GET")
def question_list(context, request):
    return _list_page(context, request)


def _new_form(request, context):
    return make_form(request, question_schema(),
                     buttons=(button(request, "save", _("Add the question")),),
                     show_if_options=_service(request).show_if_options(context.site))


@view_config(context=SurveyContainer, name="new", renderer=NEW_RENDERER,
             permission=P.SURVEY_MANAGE, request_method="GET")
def new_question(context, request):
    defaults = {"kind": "single", "scale_min": 1, "scale_max": 5}
    return {"form": _new_form(request, context).render(defaults)}


@view_config(context=SurveyContainer, name="new", renderer=NEW_RENDERER,
             permission=P.SURVEY_MANAGE, request_method="POST")
def create_question(context, request):
    outcome = submit(request, _new_form(request, context), lambda values: _service(
        request).create_question(request.actor, context.site, **values))
    if outcome.failed:
        return {"form": outcome.form_html}
    flash(request, _("The question was added at the end of the list."))
    return HTTPSeeOther(request.resource_url(context))


def _edit_form(request, context):
    question = context.question
    return make_form(request, question_schema(question.kind),
                     buttons=(button(request, "save", _("Save")),),
                     show_if_options=_service(request).show_if_options(context.site,
                                                                       before=question))


def _edit_page(context, request, form_html):
    return {"question": context.question, "form": form_html, "kinds": KIND_LABELS}


@view_config(context=SurveyQuestionResource, name="edit", renderer=EDIT_RENDERER,
             permission=P.SURVEY_MANAGE, request_method="GET")
def edit_question(context, request):
    question = context.question
    form = _edit_form(request, context)
    return _edit_page(context, request,
                      form.render(question_appstruct(question, choices_to_text(question))))


@view_config(context=SurveyQuestionResource, name="edit", renderer=EDIT_RENDERER,
             permission=P.SURVEY_MANAGE, request_method="POST")
def save_question(context, request):
    outcome = submit(request, _edit_form(request, context), lambda values: _service(
        request).update_question(request.actor, context.question, **values))
    if outcome.failed:
        return _edit_page(context, request, outcome.form_html)
    flash(request, _("The question was saved."))
    return HTTPSeeOther(request.resource_url(context.__parent__))


def _list_action(context, request, action, done):
    """A POST button on the list: do it, or show the list again with the reason."""
    try:
        action()
    except ServiceError as exc:
        request.response.status_int = refusal_status_of(exc)
        return _list_page(context.__parent__, request, error=exc.message)
    flash(request, done)
    return HTTPSeeOther(request.resource_url(context.__parent__))


@view_config(context=SurveyQuestionResource, name="move", renderer=LIST_RENDERER,
             permission=P.SURVEY_MANAGE, request_method="POST")
def move_question(context, request):
    direction = request.POST.get("direction", "")
    return _list_action(
        context, request,
        lambda: _service(request).move(request.actor, context.question, direction),
        _("The order was changed."),
    )


@view_config(context=SurveyQuestionResource, name="retire", renderer=LIST_RENDERER,
             permission=P.SURVEY_MANAGE, request_method="POST")
def retire_question(context, request):
    return _list_action(
        context, request,
        lambda: _service(request).retire(request.actor, context.question),
        _("The question is no longer asked. Its answers are kept."),
    )


@view_config(context=SurveyQuestionResource, name="restore", renderer=LIST_RENDERER,
             permission=P.SURVEY_MANAGE, request_method="POST")
def restore_question(context, request):
    return _list_action(
        context, request,
        lambda: _service(request).restore(request.actor, context.question),
        _("The question is asked again."),
    )


@view_config(context=SurveyContainer, name="answers.csv", permission=P.REGISTRATIONS_EXPORT,
             request_method="GET")
def export_answers(context, request):
    """A download, never cached: it holds registrants' answers."""
    data = _service(request).export_answers(
        request.actor, context.site, translate=request.localizer.translate
    )
    day = to_tokyo(request.clock()).strftime("%Y%m%d")
    response = Response(body=data, content_type="text/csv", charset="utf-8")
    response.content_disposition = (
        f'attachment; filename="survey-answers-{context.site.code}-{day}.csv"'
    )
    response.cache_control = "no-store"
    return response
