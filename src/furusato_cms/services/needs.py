"""Needs intake (地域課題・担い手ニーズの掘り起こし): partners, coordinators and registrants
tell a site what it needs hands for; coordinators triage each one — accept it, decline it
with a reason the submitter reads, or make it into a draft project that links back."""
from dataclasses import dataclass

from sqlalchemy import func, select

from ..i18n import _
from ..models import Need
from ..models.need import NEED_STATES
from .audit import AuditLog
from .errors import InvalidInput, NotAllowed
from .mail import localizer_for
from .projects import ProjectScope, ProjectService

STATE_LABELS = {
    "new": _("New"),
    "accepted": _("Accepted"),
    "declined": _("Declined"),
    "became_project": _("Became a project"),
}
OPEN_STATES = ("new", "accepted")
"""States a need can still be decided from."""
BODY_LABELS = {"place": _("Where"), "timing": _("When (a time of year or a date)"), "people_wanted": _("People wanted"),
               "skills": _("Skills that help")}


@dataclass(frozen=True)
class NeedCounts:
    """For the site's statistics: how many needs came in and what became of them."""

    received: int
    accepted: int
    became_project: int
    declined: int


class NeedService:
    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings
        self.audit = AuditLog(dbsession, clock)

    def submit(self, account, site, role: str, *, title, description, place="", timing="",
               people_wanted=None, skills="", contact="") -> Need:
        need = Need(site_id=site.id, submitted_by_id=account.id, submitter_role=role,
                    title=title.strip(), description=description.strip(),
                    place=(place or "").strip(), timing=(timing or "").strip(),
                    people_wanted=people_wanted, skills=(skills or "").strip(),
                    contact=(contact or "").strip(), state="new", created_at=self.clock())
        self.dbsession.add(need)
        self.dbsession.flush()
        return need

    def of_submitter(self, site, account) -> list:
        return list(self.dbsession.scalars(
            select(Need).where(Need.site_id == site.id, Need.submitted_by_id == account.id)
            .order_by(Need.created_at.desc(), Need.id.desc())))

    def of_site(self, site, state=None, limit=200) -> list:
        statement = select(Need).where(Need.site_id == site.id)
        if state in NEED_STATES:
            statement = statement.where(Need.state == state)
        return list(self.dbsession.scalars(
            statement.order_by(Need.created_at.desc(), Need.id.desc()).limit(limit)))

    def need_of_project(self, project) -> Need | None:
        return self.dbsession.scalar(select(Need).where(Need.project_id == project.id))

    # -- triage ---------------------------------------------------------------------

    def accept(self, actor, need):
        self._decide(actor, need, "accepted", allowed_from=("new",))

    def decline(self, actor, need, reason: str):
        reason = (reason or "").strip()
        if not reason:
            raise InvalidInput(_("Say why, for the person who sent it."), field="reason")
        self._decide(actor, need, "declined", allowed_from=OPEN_STATES)
        need.decline_reason = reason

    def make_project(self, actor, need, site, field: str):
        """A draft project in ``field`` from the need (its title, and what, where, when,
        how many and which skills in the body, in the site's language), linked both ways;
        the need has become a project."""
        self._require_open(need)
        translate = localizer_for(self.settings, "ja").translate
        facts = [f"{translate(label)}: {getattr(need, name)}"
                 for name, label in BODY_LABELS.items() if getattr(need, name)]
        project = ProjectService(self.dbsession, clock=self.clock, settings=self.settings
                                 ).create(actor, site, ProjectScope(site_wide=True),
                                          title=need.title, summary=need.description[:200],
                                          body="\n\n".join([need.description, *facts]),
                                          field=field)
        self.dbsession.flush()
        self._decide(actor, need, "became_project", allowed_from=OPEN_STATES)
        need.project_id = project.id
        return project

    def counts(self, site) -> NeedCounts:
        """One grouped count: received is every need; accepted includes those that
        became projects (they were taken up)."""
        by_state = dict(self.dbsession.execute(
            select(Need.state, func.count()).where(Need.site_id == site.id)
            .group_by(Need.state)).all())
        became = by_state.get("became_project", 0)
        return NeedCounts(received=sum(by_state.values()),
                          accepted=by_state.get("accepted", 0) + became,
                          became_project=became, declined=by_state.get("declined", 0))

    def _decide(self, actor, need, state, *, allowed_from):
        if need.state not in allowed_from:
            raise NotAllowed(_("This need was decided already."))
        need.state = state
        need.decided_by_id = actor.account_id
        need.decided_at = self.clock()
        self.audit.record(actor, f"need.{state}", site_id=need.site_id, target=need)
        self.dbsession.flush()

    @staticmethod
    def _require_open(need):
        if need.state not in OPEN_STATES:
            raise NotAllowed(_("This need was decided already."))

