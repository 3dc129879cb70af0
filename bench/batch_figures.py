"""Figures of the daily batch commands, each run as a subprocess as cron would run it:
seconds and the subprocess's own peak RSS (``os.wait4``'s rusage of that child alone,
so earlier children such as the servers do not count).

- ``renew_run``: ``furusato-renew`` over the generated people after a tenth as many
  premium registrations as there are people (or all there are, when fewer) have been
  moved into the due window (プレミアム登録の更新);
- ``import_100k``: ``furusato-import-activities`` of a 100,000-row workbook in the
  national template (担い手活動実績の取込), built by bench/template_xlsx.py.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select, update

from furusato_cms.models import Registration

import template_xlsx

BIN = Path(sys.executable).parent


@dataclass
class BatchRun:
    seconds: float
    peak_mb: float
    output: str
    status: int


def run_command(name: str, *args) -> BatchRun:
    """Run a console script; its wall time, peak RSS, standard output and exit status."""
    started = time.monotonic()
    process = subprocess.Popen([str(BIN / name), *map(str, args)], stdout=subprocess.PIPE,
                               text=True)
    output = process.stdout.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - started
    return BatchRun(seconds=seconds, peak_mb=usage.ru_maxrss / 1024, output=output,
                    status=process.returncode)


@dataclass
class RenewFigures:
    run: BatchRun
    wanted: int
    """A tenth of the people, as the issue's "1M people of whom 100k premium due"."""
    premium: int
    """Active premium registrations the generated data holds."""
    due: int
    summary: dict

    @property
    def judged(self) -> int:
        """Registrations the run decided on: each due one exactly once."""
        return sum(self.summary.get(key, 0) for key in ("renewed", "queued", "fell_back"))

    def describe(self) -> str:
        shortfall = (f"; wanted {self.wanted} (a tenth of the people) but the generated "
                     f"data holds only {self.premium} premium"
                     if self.due < self.wanted else "")
        return f"s for {self.due} due (peak RSS {self.run.peak_mb:.0f} MB{shortfall})"


def renew_run(engine, ini, at, people: int) -> RenewFigures:
    """Exactly min(people / 10, premium count) premium registrations (lowest ids) end a
    day before ``at``; then ``furusato-renew --at`` judges them."""
    wanted = people // 10
    active_premium = (Registration.tier == "premium") & (Registration.state == "active")
    with engine.begin() as connection:
        premium = connection.scalar(
            select(func.count()).select_from(Registration).where(active_premium))
        chosen = (select(Registration.id).where(active_premium)
                  .order_by(Registration.id).limit(wanted).scalar_subquery())
        due = connection.execute(
            update(Registration).where(Registration.id.in_(chosen))
            .values(premium_until=at - timedelta(days=1))).rowcount
    run = run_command("furusato-renew", ini, "--at", at.isoformat())
    if run.status not in (0, 1):
        raise RuntimeError(f"furusato-renew exited with {run.status}")
    return RenewFigures(run=run, wanted=wanted, premium=premium, due=due,
                        summary=json.loads(run.output.strip().splitlines()[-1]))


@dataclass
class ImportFigures:
    run: BatchRun
    expected: dict
    report: dict

    @property
    def succeeded(self) -> bool:
        """Exit 0, every row read and new (attendance or pending claim), no error."""
        report, rows = self.report, self.expected["rows"]
        return (self.run.status == 0 and report.get("imported") is True
                and report.get("error_count") == 0 and report.get("rows_read") == rows
                and report.get("attendance_recorded") == self.expected["known"]
                and report.get("pending_claims") == self.expected["unknown"]
                and report.get("activities_created") == self.expected["activities"])


def import_run(engine, ini, site_code: str, rows: int, at) -> ImportFigures:
    """Build a ``rows``-row template workbook of activities before ``at`` and import it
    into the site with ``furusato-import-activities --at``."""
    with tempfile.TemporaryDirectory(prefix="furusato-import-") as directory:
        path = Path(directory) / "activity_records.xlsx"
        expected = template_xlsx.write_workbook(path, engine, rows,
                                                last_day=(at - timedelta(days=2)).date())
        run = run_command("furusato-import-activities", ini, "--site", site_code,
                          "--at", at.isoformat(), path)
    try:
        report = json.loads(run.output)
    except ValueError:
        report = {"unreadable_output": run.output[-500:]}
    return ImportFigures(run=run, expected=expected, report=report)
