"""Monitor surveys (モニターアンケート): a site asks a group of its registrants.

Rules kept here:

- Editors build a survey as a draft: title, description, target group and questions.
  The questions are the registration survey's kinds with the same checks and show-if
  conditions (``services/survey.py`` checks question fields and answers, and
  ``schemas/survey.py`` makes the form), kept in the survey's own table.
- draft → open → closed. Opening needs at least one question; from then on nothing
  about the survey changes, so every answer means what it meant when given.
- The target group is every active registration with the site, narrowed by tier
  and/or relationship type when the editor sets them. Only people in it may answer,
  only while the survey is open, and once: the database's unique (survey, person) key
  decides between simultaneous submissions (``INSERT … ON CONFLICT DO NOTHING``), and
  the loser is told they have already answered.
- Results are counts per option (and per number on a scale) by one GROUP BY over the
  picked options; the CSV export holds the answers with a running number and the day,
  never who answered, and downloading it is written to the audit log.
"""
from dataclasses import dataclass, field

from sqlalchemy import and_, func, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from ..clock import to_tokyo
from ..i18n import _
from ..models import (
    MonitorChoice,
    MonitorQuestion,
    MonitorResponse,
    MonitorSurvey,
    Registration,
    Site,
)
from ..models.registration import REGISTRATION_TIERS
from ..models.survey import QUESTION_KINDS
from ..spreadsheet import csv_bytes
from ..vocabulary import RELATIONSHIP_TYPES, TIER_LABELS
from .audit import AuditLog
from .errors import Conflict, InvalidInput, NotAllowed
from .json_sql import holds
from .registration import AnswersRefused
from .survey import CHOICE_KINDS, SurveyService, answer_text, bounded_text, checked, choice_label

TITLE_MAX = 200
DESCRIPTION_MAX = 4000
QUESTIONS_MAX = 50
STATE_LABELS = {
    "draft": _("Draft"),
    "open": _("Open for answers"),
    "closed": _("Closed"),
}


@dataclass
class Bar:
    key: str
    label: str
    count: int
    percent: int
    """Of the people who answered the question (multiple choice adds up to more than 100)."""


@dataclass
class QuestionResult:
    question: MonitorQuestion
    answered: int
    bars: list = field(default_factory=list)


@dataclass
class Results:
    responses: int
    questions: list


def target_text(survey, translate) -> str:
    """The target group in words, e.g. "Premium, Type 2: …"; "Everyone registered"."""
    parts = []
    if survey.target_tier:
        parts.append(translate(TIER_LABELS[survey.target_tier]))
    if survey.target_relationship_type:
        parts.append(translate(RELATIONSHIP_TYPES[survey.target_relationship_type]))
    return " / ".join(parts) or translate(_("Everyone registered with the site"))


def _in_target(dialect, survey_table, registration_table):
    """The SQL condition: the registration is active and in the survey's target group
    (its types include the survey's target type). At-home registrations are included:
    they get the site's information, they are only left out of statistics."""
    return and_(
        registration_table.state == "active",
        or_(survey_table.target_tier.is_(None),
            survey_table.target_tier == registration_table.tier),
        or_(survey_table.target_relationship_type.is_(None),
            holds(dialect, registration_table.relationship_types,
                  survey_table.target_relationship_type)),
    )


class MonitorSurveyService:
    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings
        self.engine = SurveyService(dbsession, clock=clock, settings=settings)
        self.audit = AuditLog(dbsession, clock)

    @property
    def _dialect(self) -> str:
        return self.dbsession.get_bind().dialect.name

    # -- editors: the survey ------------------------------------------------------

    def surveys_of(self, site) -> list:
        return list(self.dbsession.scalars(
            select(MonitorSurvey).where(MonitorSurvey.site_id == site.id)
            .order_by(MonitorSurvey.created_at.desc(), MonitorSurvey.id.desc())
        ))

    def response_counts(self, site) -> dict:
        """survey id -> number of responses, for every survey of the site in one query."""
        return dict(self.dbsession.execute(
            select(MonitorResponse.survey_id, func.count())
            .join(MonitorSurvey, MonitorSurvey.id == MonitorResponse.survey_id)
            .where(MonitorSurvey.site_id == site.id).group_by(MonitorResponse.survey_id)
        ).all())

    def create(self, actor, site, *, title, description="", target_tier=None,
               target_relationship_type=None) -> MonitorSurvey:
        survey = MonitorSurvey(site_id=site.id, state="draft", created_at=self.clock(),
                               created_by_id=actor.account_id)
        self._assign(survey, title, description, target_tier, target_relationship_type)
        self.dbsession.add(survey)
        self.dbsession.flush()
        self._audit(actor, "monitor_survey.create", survey)
        return survey

    def update(self, actor, survey, *, title, description="", target_tier=None,
               target_relationship_type=None):
        self._require_draft(survey)
        self._assign(survey, title, description, target_tier, target_relationship_type)
        self.dbsession.flush()
        self._audit(actor, "monitor_survey.update", survey)

    def delete(self, actor, survey):
        """Only a draft can be thrown away: an opened survey may have answers."""
        self._require_draft(survey)
        self._audit(actor, "monitor_survey.delete", survey, title=survey.title)
        self.dbsession.delete(survey)
        self.dbsession.flush()

    def open(self, actor, survey):
        self._require_draft(survey)
        if not survey.questions:
            raise NotAllowed(_("Add at least one question before opening the survey."))
        survey.state = "open"
        survey.opened_at = self.clock()
        self.dbsession.flush()
        self._audit(actor, "monitor_survey.open", survey, target_count=self.target_count(survey))

    def close(self, actor, survey):
        if survey.state != "open":
            raise NotAllowed(_("Only an open survey can be closed."))
        survey.state = "closed"
        survey.closed_at = self.clock()
        self.dbsession.flush()
        self._audit(actor, "monitor_survey.close", survey)

    def target_count(self, survey) -> int:
        """How many people the survey reaches now (one count query)."""
        return self.dbsession.scalar(
            select(func.count()).select_from(Registration)
            .join(MonitorSurvey, MonitorSurvey.site_id == Registration.site_id)
            .where(MonitorSurvey.id == survey.id,
                   _in_target(self._dialect, MonitorSurvey, Registration))
        )

    # -- editors: questions ------------------------------------------------------------

    def show_if_options(self, survey, before=None) -> list:
        """Earlier single/multiple-choice questions a show-if may point at."""
        questions = list(survey.questions)
        if before is not None:
            questions = questions[: questions.index(before)]
        return [q for q in questions if q.kind in CHOICE_KINDS]

    def add_question(self, actor, survey, *, kind, label, help_text="", choices="",
                     scale_min=1, scale_max=5, required=False, show_if=None):
        self._require_draft(survey)
        if kind not in QUESTION_KINDS:
            raise InvalidInput(_("Choose a kind of question from the list."), field="kind")
        if len(survey.questions) >= QUESTIONS_MAX:
            raise NotAllowed(_("A survey can have at most ${max} questions.",
                               mapping={"max": QUESTIONS_MAX}))
        new = checked(kind, label=label, help_text=help_text, choices=choices,
                       scale_min=scale_min, scale_max=scale_max, existing=())
        question = MonitorQuestion(kind=kind, created_at=self.clock(),
                                   position=len(survey.questions))
        show_if = SurveyService.checked_show_if(show_if, self.show_if_options(survey))
        SurveyService.assign(question, new, required=required, show_if=show_if)
        survey.questions.append(question)
        self.dbsession.flush()
        self._audit(actor, "monitor_survey.question_add", survey, question_id=question.id)
        return question

    def update_question(self, actor, question, *, label, help_text="", choices="",
                        scale_min=None, scale_max=None, required=False, show_if=None):
        survey = question.survey
        self._require_draft(survey)
        new = checked(question.kind, label=label, help_text=help_text, choices=choices,
                       scale_min=question.scale_min if scale_min is None else scale_min,
                       scale_max=question.scale_max if scale_max is None else scale_max,
                       existing=question.choices)
        checked_show_if = SurveyService.checked_show_if(
            show_if, self.show_if_options(survey, before=question))
        keys = {c["key"] for c in new["choices"]}
        self._check_conditions_kept(question, keys)
        SurveyService.assign(question, new, required=required, show_if=checked_show_if)
        self.dbsession.flush()
        self._audit(actor, "monitor_survey.question_update", survey, question_id=question.id)

    def remove_question(self, actor, question):
        survey = question.survey
        self._require_draft(survey)
        self._check_conditions_kept(question, set())
        survey.questions.remove(question)
        for position, item in enumerate(survey.questions):
            item.position = position
        self.dbsession.flush()
        self._audit(actor, "monitor_survey.question_remove", survey, label=question.label)

    def move_question(self, actor, question, direction: str):
        """Swap with the neighbour; a show-if question stays below its condition."""
        survey = question.survey
        self._require_draft(survey)
        if direction not in ("up", "down"):
            raise InvalidInput(_("Move a question up or down."))
        questions = list(survey.questions)
        index = questions.index(question)
        other_index = index - 1 if direction == "up" else index + 1
        if not 0 <= other_index < len(questions):
            raise NotAllowed(_("The question is already at that end of the list."))
        other = questions[other_index]
        if question.show_if_question_id == other.id or other.show_if_question_id == question.id:
            raise NotAllowed(
                _("A question shown only after an answer to another question must stay "
                  "below that question."))
        questions[index], questions[other_index] = other, question
        for position, item in enumerate(questions):
            item.position = position
        self.dbsession.flush()
        self.dbsession.expire(survey, ["questions"])
        self._audit(actor, "monitor_survey.question_move", survey, question_id=question.id,
                    direction=direction)

    # -- registrants -------------------------------------------------------------------

    def open_for(self, account) -> list:
        """(survey, site, answered) for every open survey whose target group includes the
        person, newest first, in one query."""
        rows = self.dbsession.execute(
            select(MonitorSurvey, Site, MonitorResponse.id)
            .join(Site, Site.id == MonitorSurvey.site_id)
            .join(Registration, and_(Registration.site_id == MonitorSurvey.site_id,
                                     Registration.account_id == account.id))
            .outerjoin(MonitorResponse, and_(MonitorResponse.survey_id == MonitorSurvey.id,
                                             MonitorResponse.account_id == account.id))
            .where(MonitorSurvey.state == "open", Site.state == "active",
                   _in_target(self._dialect, MonitorSurvey, Registration))
            .order_by(MonitorSurvey.opened_at.desc(), MonitorSurvey.id.desc())
        ).all()
        return [(survey, site, response_id is not None) for survey, site, response_id in rows]

    def check_may_answer(self, account, survey):
        """Raise the reason the person cannot answer now, or return quietly."""
        if survey.state == "draft":
            raise NotAllowed(_("This survey is not open yet."))
        if survey.state == "closed":
            raise NotAllowed(_("This survey has closed. Thank you for your interest."))
        if not self._is_targeted(account, survey):
            raise NotAllowed(_("This survey is for a group of registrants of ${site} that "
                               "does not include you.", mapping={"site": survey.site.name}))
        if self.has_answered(account, survey):
            raise Conflict(_("You have already answered this survey. Each person answers "
                             "once. Thank you!"))

    def has_answered(self, account, survey) -> bool:
        return self.dbsession.scalar(
            select(MonitorResponse.id).where(MonitorResponse.survey_id == survey.id,
                                             MonitorResponse.account_id == account.id)
        ) is not None

    def submit(self, account, survey, submitted: dict) -> MonitorResponse:
        """Store the person's answers once; ``submitted`` holds raw form values (``q<id>``)."""
        self.check_may_answer(account, survey)
        check = self.engine.check_answers(list(survey.questions), submitted)
        if not check.ok:
            raise AnswersRefused(check.errors)
        response_id = self._insert_once(survey, account, check.answers)
        if response_id is None:
            raise Conflict(_("You have already answered this survey. Each person answers "
                             "once. Thank you!"))
        picked = [
            {"response_id": response_id, "question_id": question_id, "choice": key}
            for question_id, value in check.answers.items()
            for key in _picked_keys(value)
        ]
        if picked:
            self.dbsession.execute(insert(MonitorChoice), picked)
        return self.dbsession.get(MonitorResponse, response_id)

    # -- results -----------------------------------------------------------------------

    def results(self, survey) -> Results:
        """Counts per option, by one GROUP BY; respondents per question by another."""
        counts = {}
        for question_id, key, number in self.dbsession.execute(
            select(MonitorChoice.question_id, MonitorChoice.choice, func.count())
            .join(MonitorQuestion, MonitorQuestion.id == MonitorChoice.question_id)
            .where(MonitorQuestion.survey_id == survey.id)
            .group_by(MonitorChoice.question_id, MonitorChoice.choice)
        ):
            counts[question_id, key] = number
        answered = dict(self.dbsession.execute(
            select(MonitorChoice.question_id, func.count(func.distinct(MonitorChoice.response_id)))
            .join(MonitorQuestion, MonitorQuestion.id == MonitorChoice.question_id)
            .where(MonitorQuestion.survey_id == survey.id)
            .group_by(MonitorChoice.question_id)
        ).all())
        responses = self.dbsession.scalar(
            select(func.count()).select_from(MonitorResponse)
            .where(MonitorResponse.survey_id == survey.id))
        questions = []
        for question in survey.questions:
            base = answered.get(question.id, 0)
            bars = [Bar(key, label, counts.get((question.id, key), 0),
                        round(100 * counts.get((question.id, key), 0) / base) if base else 0)
                    for key, label in _options(question)]
            questions.append(QuestionResult(question, base, bars))
        return Results(responses, questions)

    def export_csv(self, actor, survey, *, translate) -> bytes:
        """Every response as a row for Excel (UTF-8 with BOM): a running number, the day
        (Japan time) and one column per question; nothing that says who answered."""
        questions = list(survey.questions)
        header = [translate(_("No.")), translate(_("Answered on"))] + [q.label for q in questions]
        rows = [header]
        responses = self.dbsession.execute(
            select(MonitorResponse.answers, MonitorResponse.submitted_at)
            .where(MonitorResponse.survey_id == survey.id).order_by(MonitorResponse.id)
        )
        for number, (answers, submitted_at) in enumerate(responses, 1):
            rows.append([str(number), to_tokyo(submitted_at).strftime("%Y-%m-%d")]
                        + [answer_text(q, answers.get(str(q.id))) for q in questions])
        self._audit(actor, "monitor_survey.export", survey, rows=len(rows) - 1)
        return csv_bytes(rows)

    # -- rules -------------------------------------------------------------------------

    @staticmethod
    def _assign(survey, title, description, target_tier, target_relationship_type):
        title = bounded_text(" ".join((title or "").split()), TITLE_MAX, "title")
        if not title:
            raise InvalidInput(_("Give the survey a title."), field="title")
        description = bounded_text(description, DESCRIPTION_MAX, "description")
        if target_tier not in (None, *REGISTRATION_TIERS):
            raise InvalidInput(_("Choose a tier from the list."), field="target_tier")
        if target_relationship_type not in (None, *RELATIONSHIP_TYPES):
            raise InvalidInput(_("Choose a relationship type from the list."),
                               field="target_relationship_type")
        survey.title = title
        survey.description = description
        survey.target_tier = target_tier
        survey.target_relationship_type = target_relationship_type

    @staticmethod
    def _require_draft(survey):
        if survey.state != "draft":
            raise NotAllowed(_("This survey has been opened, so it can no longer be changed."))

    @staticmethod
    def _check_conditions_kept(question, kept_keys):
        """Questions shown on one of this question's options must keep that option."""
        broken = [q.label for q in question.survey.questions
                  if q.show_if_question_id == question.id and q.show_if_choice not in kept_keys]
        if broken:
            raise Conflict(
                _("Other questions are shown depending on the answer to this one "
                  "(${labels}). Change their condition first.",
                  mapping={"labels": "、".join(broken)}), field="choices")

    def _is_targeted(self, account, survey) -> bool:
        return self.dbsession.scalar(
            select(func.count()).select_from(Registration)
            .join(MonitorSurvey, MonitorSurvey.site_id == Registration.site_id)
            .where(MonitorSurvey.id == survey.id, Registration.account_id == account.id,
                   _in_target(self._dialect, MonitorSurvey, Registration))
        ) > 0

    def _insert_once(self, survey, account, answers) -> int | None:
        """The new response's id, or None when the person's response already exists
        (also when another transaction stored it a moment ago)."""
        dialect = postgresql if self.dbsession.get_bind().dialect.name == "postgresql" else sqlite
        return self.dbsession.execute(
            dialect.insert(MonitorResponse)
            .values(survey_id=survey.id, account_id=account.id, submitted_at=self.clock(),
                    answers={str(question_id): value for question_id, value in answers.items()})
            .on_conflict_do_nothing(index_elements=["survey_id", "account_id"])
            .returning(MonitorResponse.id)
        ).scalar()

    def _audit(self, actor, action, survey, **detail):
        self.audit.record(actor, action, site_id=survey.site_id, target=survey, **detail)


def _picked_keys(value) -> list:
    """What a stored answer adds to the counts: chosen keys, or the scale number."""
    if "choice" in value:
        return [value["choice"]]
    if "choices" in value:
        return list(value["choices"])
    if "scale" in value:
        return [str(value["scale"])]
    return []


def _options(question) -> list:
    """(key, label) of every option a question's results show, in order."""
    if question.kind in CHOICE_KINDS:
        return [(c["key"], choice_label(question, c["key"])) for c in question.choices]
    if question.kind == "scale":
        return [(str(n), str(n)) for n in range(question.scale_min, question.scale_max + 1)]
    return []

