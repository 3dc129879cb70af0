"""Figures of the daily batch commands, each run as a subprocess as cron would run it:
seconds and the subprocess's own peak RSS (``os.wait4``'s rusage of that child alone,
so earlier children such as the servers do not count).

- ``renew_run``: ``furusato-renew`` over the generated people after every premium
  registration has been moved into the due window (プレミアム登録の更新).
"""
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import update

from furusato_cms.models import Registration

BIN = Path(sys.executable).parent


@dataclass
class BatchRun:
    seconds: float
    peak_mb: float
    output: str


def run_command(name: str, *args) -> BatchRun:
    """Run a console script; its wall time, peak RSS and standard output."""
    started = time.monotonic()
    process = subprocess.Popen([str(BIN / name), *map(str, args)], stdout=subprocess.PIPE,
                               text=True)
    output = process.stdout.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - started
    if process.returncode not in (0, 1):
        raise RuntimeError(f"{name} exited with {process.returncode}")
    return BatchRun(seconds=seconds, peak_mb=usage.ru_maxrss / 1024, output=output)


def renew_run(engine, ini, at) -> tuple[BatchRun, int, dict]:
    """Every premium registration ends a day before ``at``; then ``furusato-renew
    --at`` judges them all. (run, how many were due, its JSON summary)."""
    with engine.begin() as connection:
        due = connection.execute(
            update(Registration).where(Registration.tier == "premium",
                                       Registration.state == "active")
            .values(premium_until=at - timedelta(days=1))).rowcount
    run = run_command("furusato-renew", ini, "--at", at.isoformat())
    return run, due, json.loads(run.output.strip().splitlines()[-1])
