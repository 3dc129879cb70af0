"""A large activity-record workbook in the national template (担い手活動実績記録用様式,
see tests/fixtures_import/ and shared/fixtures/README.md) for ``import_100k``.

Written with openpyxl's write-only mode, so building 100,000 rows takes little memory.
Each activity has ``PER_ACTIVITY`` participants: most are verified people of the
generated data, written as a municipality would (name with a space, postal code
NNN-NNNN, date of birth 1974/2/18, 男性/女性), so the import records their attendance;
the rest are people the platform does not know, who become pending claims. No
participant appears twice in one activity, so every row is new to the import.
"""
from dataclasses import dataclass
from datetime import date, timedelta

import openpyxl
from sqlalchemy import select

from furusato_cms.models import Account, IdentityVerification

PER_ACTIVITY = 100
KNOWN_SHARE = 0.8
"""Of each activity's participants, this share are verified registrants."""
FIRST_DAY = date(2026, 4, 1)
"""The template counts activities from 令和8年4月1日."""
GROUP_HEADINGS = ("活動情報",) + (None,) * 5 + ("参加者情報",) + (None,) * 4
REQUIRED = ("任意", "必須", "必須", "必須", "必須", "任意", "必須", "必須", "必須", "必須", "必須")
NAMES = ("ID", "活動名", "活動開始日時", "活動終了日時", "活動場所", "参加条件", "氏名",
         "郵便番号", "住所(除郵便番号)", "生年月日", "性別")
GENDERS = {"female": "女性", "male": "男性"}


@dataclass(frozen=True)
class Person:
    name: str
    postal_code: str
    birthdate: date
    gender: str

    def cells(self) -> tuple:
        code = self.postal_code
        born = self.birthdate
        return (self.name, f"{code[:3]}-{code[3:]}", "○○県○○市△△1-2-3",
                f"{born.year}/{born.month}/{born.day}", self.gender)


def known_people(engine, count: int) -> list:
    """Up to ``count`` verified registrants, as the template would name them."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(IdentityVerification.name, IdentityVerification.postal_code,
                   IdentityVerification.birthdate, IdentityVerification.gender)
            .join(Account, Account.id == IdentityVerification.account_id)
            .where(Account.kind == "registrant", Account.disabled_at.is_(None))
            .order_by(IdentityVerification.account_id).limit(count)).all()
    return [Person(name, code, born, GENDERS.get(gender, "その他"))
            for name, code, born, gender in rows]


def unknown_person(activity: int, index: int) -> Person:
    """Someone the platform has never verified (their row becomes a pending claim)."""
    return Person(f"未登録 花子{activity}-{index}", f"{(activity * 7919 + index) % 10**7:07d}",
                  date(1950 + index % 50, 1 + index % 12, 1 + activity % 28),
                  "女性" if index % 2 else "男性")


def activity_cells(number: int, last_day: date) -> tuple:
    """ID, name, start, end, place and conditions of activity ``number``, on a day
    between 1 April 2026 and ``last_day``, written as the template's sample writes them."""
    day = FIRST_DAY + timedelta(days=number % max((last_day - FIRST_DAY).days, 1))
    when = f"{day.year}年{day.month}月{day.day}日"
    return (f"BENCH-{number:05d}", f"担い手活動 {number}", f"{when} 10:00", f"{when} 12:00",
            f"市民センター{number % 20 + 1}", "先着100名" if number % 3 == 0 else None)


def write_workbook(path, engine, rows: int, last_day: date) -> dict:
    """Write ``rows`` data rows to ``path``; what the import should find in them."""
    activities = -(-rows // PER_ACTIVITY)
    known = known_people(engine, rows)
    if len(known) < PER_ACTIVITY:
        raise RuntimeError(f"{len(known)} verified people: too few for {PER_ACTIVITY} "
                           "distinct participants per activity")
    per_known = round(PER_ACTIVITY * KNOWN_SHARE)
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("担い手活動実績")
    sheet.merged_cells.add("A1:F1")
    sheet.merged_cells.add("G1:K1")
    for heading in (GROUP_HEADINGS, REQUIRED, NAMES):
        sheet.append(heading)
    written, expected_known = 0, 0
    for activity in range(1, activities + 1):
        cells = activity_cells(activity, last_day)
        for index in range(min(PER_ACTIVITY, rows - written)):
            if index < per_known:
                person = known[(activity * per_known + index) % len(known)]
                expected_known += 1
            else:
                person = unknown_person(activity, index)
            sheet.append(cells + person.cells())
            written += 1
    workbook.save(path)
    return {"rows": written, "activities": activities, "known": expected_known,
            "unknown": written - expected_known}
