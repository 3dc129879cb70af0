"""The delivery worker (``furusato-webhooks``): claims due deliveries, POSTs them signed,
records each attempt, and schedules the next one.

- **Claiming** takes a batch of due rows of enabled endpoints (on PostgreSQL ``FOR UPDATE
  SKIP LOCKED``, so workers side by side never take the same row; SQLite runs one
  worker), gives rows sent for the first time their ``message_id`` and body, and leases
  them (``next_attempt_at`` moved ``lease_seconds`` ahead) in a short transaction that
  commits before any POST: no lock is held while waiting for a receiver. A worker that
  dies mid-batch leaves its rows to be sent again when the lease ends — at least once.
- **Sending** signs with the endpoint's secret(s) and the attempt's own timestamp; the id
  and body stay the same on every retry and replay.
- **Back-off**: the first attempt is immediate; after the n-th failure in a row the next
  waits ``SCHEDULE[n-1]`` (5 s, 5 min, 30 min, 2 h, 5 h, 10 h) stretched by up to 20 %
  at random (jitter, so many failed deliveries do not come back in one burst); after the
  seventh failure the delivery is ``failed`` and waits for the site admin's replay.
- Time comes from the clock given, so tests move it instead of waiting."""
import random
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import insert, select, update

from ...models.webhook import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from . import transport
from .payloads import bodies
from .signing import new_message_id, signed_headers

SCHEDULE = (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600)
"""Seconds to wait after the 1st, 2nd … failure in a row (Standard Webhooks' example)."""
MAX_ATTEMPTS = len(SCHEDULE) + 1
JITTER = 0.2


@dataclass(frozen=True)
class Job:
    delivery_id: int
    message_id: str
    body: bytes
    url: str
    secrets: tuple


@dataclass(frozen=True)
class Result:
    job: Job
    attempted_at: object
    duration_ms: int
    status: int | None = None
    excerpt: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def next_delay(failures: int, rand=random.random) -> timedelta | None:
    """The wait after ``failures`` failed attempts in a row; None: give up."""
    if failures > len(SCHEDULE):
        return None
    return timedelta(seconds=SCHEDULE[failures - 1] * (1 + JITTER * rand()))


class DeliveryWorker:
    def __init__(self, session_factory, *, clock, options, post=transport.post,
                 rand=random.random):
        self.session_factory = session_factory
        self.clock = clock
        self.options = options
        self.post = post
        self.rand = rand

    def run_once(self) -> dict:
        """Send everything due now, batch after batch; the counts of what happened."""
        counts = {"sent": 0, "delivered": 0, "retrying": 0, "failed": 0}
        while True:
            jobs = self.claim()
            if not jobs:
                return counts
            outcome = self.record([self.send(job) for job in jobs])
            for name, value in outcome.items():
                counts[name] += value
            counts["sent"] += len(jobs)

    def claim(self) -> list[Job]:
        now = self.clock()
        with self.session_factory() as session, session.begin():
            ids = list(session.scalars(
                select(WebhookDelivery.id)
                .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
                .where(WebhookDelivery.state == "pending",
                       WebhookDelivery.next_attempt_at <= now,
                       WebhookEndpoint.enabled.is_(True))
                .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
                .limit(self.options.batch_size)
                .with_for_update(skip_locked=True, of=WebhookDelivery)
            ))
            if not ids:
                return []
            self._prepare_first_sends(session, ids)
            session.execute(
                update(WebhookDelivery).where(WebhookDelivery.id.in_(ids))
                .values(next_attempt_at=now + timedelta(seconds=self.options.lease_seconds))
                .execution_options(synchronize_session=False))
            rows = session.execute(
                select(WebhookDelivery.id, WebhookDelivery.message_id, WebhookDelivery.payload,
                       WebhookEndpoint.url, WebhookEndpoint.secret,
                       WebhookEndpoint.previous_secret, WebhookEndpoint.previous_secret_until)
                .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
                .where(WebhookDelivery.id.in_(ids))
                .order_by(WebhookDelivery.id)
            ).all()
        return [Job(row.id, row.message_id, row.payload.encode(), row.url,
                    _signing_secrets(row, now)) for row in rows]

    def _prepare_first_sends(self, session, ids):
        """Id and body fixed before the first POST, so every later one repeats them."""
        fresh = list(session.scalars(
            select(WebhookDelivery.id).where(WebhookDelivery.id.in_(ids),
                                             WebhookDelivery.message_id.is_(None))))
        if not fresh:
            return
        built = bodies(session, fresh, self.options.pseudonym_key)
        session.execute(update(WebhookDelivery), [
            {"id": delivery_id, "message_id": new_message_id(), "payload": body.decode()}
            for delivery_id, body in built.items()
        ])

    def send(self, job: Job) -> Result:
        attempted_at = self.clock()
        headers = signed_headers(job.secrets, job.message_id, int(attempted_at.timestamp()),
                                 job.body)
        started = time.monotonic()
        try:
            answer = self.post(job.url, job.body, headers,
                               timeout=self.options.timeout_seconds,
                               allow_private=self.options.allow_private_addresses)
        except transport.DeliveryError as exc:
            return Result(job, attempted_at, _ms(started), error=str(exc)[:300])
        error = "" if answer.status < 300 or answer.status >= 400 else \
            "redirect not followed"
        return Result(job, attempted_at, _ms(started), answer.status, answer.excerpt, error)

    def record(self, results) -> dict:
        """Every attempt kept, each delivery moved on: delivered, retried later or failed."""
        counts = {"delivered": 0, "retrying": 0, "failed": 0}
        with self.session_factory() as session, session.begin():
            current = {row.id: row for row in session.execute(
                select(WebhookDelivery.id, WebhookDelivery.failures, WebhookDelivery.attempts,
                       WebhookDelivery.next_attempt_at, WebhookDelivery.delivered_at)
                .where(WebhookDelivery.id.in_([r.job.delivery_id for r in results])))}
            session.execute(insert(WebhookAttempt), [
                {"delivery_id": r.job.delivery_id, "attempted_at": r.attempted_at,
                 "duration_ms": r.duration_ms, "status_code": r.status, "error": r.error,
                 "response_excerpt": r.excerpt}
                for r in results
            ])
            changes = []
            for result in results:
                outcome, change = self._change(result, current[result.job.delivery_id])
                counts[outcome] += 1
                changes.append(change)
            session.execute(update(WebhookDelivery), changes)
        return counts

    def _change(self, result: Result, row) -> tuple:
        """The outcome and the delivery's new values (the same keys every time: one
        executemany)."""
        change = {"id": row.id, "last_attempt_at": result.attempted_at,
                  "last_status": result.status, "attempts": row.attempts + 1,
                  "state": "pending", "failures": row.failures + 1,
                  "delivered_at": row.delivered_at, "next_attempt_at": row.next_attempt_at}
        if result.ok:
            return "delivered", {**change, "state": "delivered",
                                 "delivered_at": result.attempted_at, "failures": 0}
        delay = next_delay(row.failures + 1, self.rand)
        if delay is None:
            return "failed", {**change, "state": "failed"}
        return "retrying", {**change, "next_attempt_at": result.attempted_at + delay}


def _signing_secrets(row, now) -> tuple:
    if row.previous_secret and row.previous_secret_until and row.previous_secret_until > now:
        return (row.secret, row.previous_secret)
    return (row.secret,)


def _ms(started) -> int:
    return int((time.monotonic() - started) * 1000)
