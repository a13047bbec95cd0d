"""The daily digest's figures on SQLite and PostgreSQL: hand-made dossiers, ratings and
petitions whose expected figures are worked out by hand below; the SQL fast path agreeing with
``knowledge.timeliness`` (through the chat's own ``timeliness_of``) on every one of a few
hundred generated dossiers; the outbox messages (one per active official, never twice); and
the scheduler (working day, weekend, holiday, catch-up, restart) with an injectable clock."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.jobs.digest import DigestScheduler, run_digests
from handlers.digest.build import build_digest
from handlers.digest.notifications import dedup_key
from handlers.dossiers.render import timeliness_of
from knowledge.digest import (
    DEADLINE_ANSWER,
    DEADLINE_INFO,
    DEADLINE_PUBLISH,
    DEADLINE_REFUSE,
    Digest,
    DossierFigures,
    bucket_of,
)
from knowledge.dossier_records import parse_record
from knowledge.outbox import OutboxKind
from knowledge.petitions import DeadlineStatus, deadline_status, due_soon_until
from knowledge.timeliness import StatusEvent
from knowledge.workdays import VN_TZ, add_working_days, local_date
from storage.models import Dossier, OutboxMessage, ServiceRating
from storage.repositories.agencies import AgencyRepository
from storage.repositories.digest import DigestRepository
from storage.repositories.dossiers import DossierRepository
from storage.repositories.officials import OfficialRepository
from storage.repositories.petitions import PetitionRepository
from tests.tools.builders import petition_draft as draft

Factory = async_sessionmaker[AsyncSession]
JUSTICE = "Sở Tư pháp"
OTHER = "UBND Phường Bến Nghé"
DAY = date(2026, 11, 16)  # Monday: the report period is Friday 13 to Sunday 15 November
NOW = datetime(2026, 11, 16, 7, 30, tzinfo=VN_TZ)


def vn(day: str, hhmm: str = "08:00") -> str:
    """A local time as the one-door exports write it."""
    return f"{day} {hhmm}"


_seq = iter(range(1, 1_000_000))


def dossier(
    agency: str,
    received: str,
    appointment: str | None,
    *steps: tuple[int, str | None] | tuple[int, str | None, dict[str, Any]],
) -> list[Any]:
    """The records of one dossier's successive exports: accepted at ``received``, then each
    (status, local time[, extra columns]) step in order."""
    code = f"000.00.17.H12-{received[2:4]}{received[5:7]}{received[8:10]}-{next(_seq):04d}"
    base: dict[str, Any] = {
        "receipt_code": code,
        "agency": agency,
        "received_at": received,
        "applicant_name": "Nguyễn Văn An",
        "applicant_phone": "0912345678",
    }
    if appointment is not None:
        base["appointment_at"] = appointment
    records = [parse_record({**base, "status": 2, "status_at": received})]
    for step in steps:
        status, at = step[0], step[1]
        extra = step[2] if len(step) > 2 else {}  # type: ignore[misc]
        row = {**base, "status": status, **extra}
        if at is not None:
            row["status_at"] = at
        records.append(parse_record(row))
    return records


async def load(factory: Factory, *dossiers: list[Any]) -> None:
    records = [record for group in dossiers for record in group]
    async with factory() as session:
        await DossierRepository(session).upsert_many(records, "test")
        await session.commit()


async def rate(factory: Factory, agency: str, level: int, at: datetime) -> None:
    async with factory() as session:
        dossier_id = (await session.execute(select(func.min(Dossier.id)))).scalar_one()
        session.add(
            ServiceRating(
                dossier_id=dossier_id,
                agency=agency,
                level=level,
                channel="telegram",
                chat_id=f"r{level}{at.timestamp()}",
                created_at=at,
                updated_at=at,
            )
        )
        await session.commit()


def local(day: str, hhmm: str = "09:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=VN_TZ)


async def setup_agencies(factory: Factory) -> dict[str, int]:
    """The justice department (dossiers under "Sở Tư pháp") with two officials, one of them
    inactive later, and the land department (no dossiers) with one."""
    async with factory() as session:
        agencies = AgencyRepository(session)
        justice = await agencies.save(
            "so-tu-phap",
            "Sở Tư pháp",
            sectors=["Hộ tịch"],
            procedure_codes=["1.001193"],
            dossier_agency=JUSTICE,
        )
        land = await agencies.save("so-nnmt", "Sở Nông nghiệp và Môi trường", sectors=["Đất đai"])
        officials = OfficialRepository(session)
        ids: dict[str, int] = {"justice": justice.id, "land": land.id}
        for name, agency_id, chat, language in (
            ("admin", justice.id, "501", "vi"),
            ("officer", justice.id, "502", "en"),
            ("land_officer", land.id, "601", None),
        ):
            code, _invitation = await officials.create_invitation(agency_id, "officer")
            official = await officials.enroll(
                code, channel="telegram", chat_id=chat, language=language
            )
            ids[name] = official.id
        await session.commit()
    return ids


async def setup_petitions(factory: Factory) -> dict[str, str]:
    """Petitions P1..P9 (see test_digest_figures_worked_out_by_hand); their tracking codes."""
    codes: dict[str, str] = {}
    async with factory() as session:
        repo = PetitionRepository(session)
        officials = OfficialRepository(session)
        justice = await AgencyRepository(session).by_code("so-tu-phap")
        assert justice is not None
        officer = (await officials.of_agency(justice.id))[0]

        async def submit(name: str, when: datetime, **overrides: Any) -> Any:
            result = await repo.submit(draft(**overrides), now=when)
            codes[name] = result.petition.tracking_code
            return result.petition

        await submit("P3", local("2026-10-26"))
        p5 = await submit("P5", local("2026-11-02"))
        p6 = await submit("P6", local("2026-11-02", "10:00"))
        await submit("P2", local("2026-11-09"))
        p4 = await submit("P4", local("2026-11-09", "10:00"))
        await submit("P1", local("2026-11-13"))
        p8 = await submit("P8", local("2026-11-13", "14:00"))
        await submit("P7", local("2026-11-14", "10:00"))
        await submit("P9", local("2026-11-13", "11:00"), procedure_code=None, sector="Đất đai")

        p3 = await repo.by_code(codes["P3"])
        assert p3 is not None
        p3 = (await repo.take(p3, officer, via="telegram", now=local("2026-10-27"))).petition
        p4 = (await repo.take(p4, officer, via="telegram", now=local("2026-11-10"))).petition
        p5 = (await repo.take(p5, officer, via="telegram", now=local("2026-11-03"))).petition
        p5 = (
            await repo.answer(
                p5, officer, "Đã xử lý.", via="telegram", now=local("2026-11-12", "10:00")
            )
        ).petition
        p6 = (await repo.take(p6, officer, via="telegram", now=local("2026-11-03"))).petition
        p6 = (
            await repo.answer(
                p6, officer, "Đã xử lý.", via="telegram", now=local("2026-11-10", "10:00")
            )
        ).petition
        p8 = (
            await repo.refuse(
                p8,
                officer,
                "Không thuộc phạm vi.",
                via="telegram",
                now=local("2026-11-13", "15:00"),
            )
        ).petition
        await session.commit()
    return codes


async def setup_dossiers(factory: Factory) -> None:
    """Dossiers A..O (see test_digest_figures_worked_out_by_hand)."""
    await load(
        factory,
        # received in the report period (Fri 13 - Sun 15 November)
        dossier(
            JUSTICE,
            vn("2026-11-13"),
            vn("2026-11-18", "17:00"),  # A: early
            (9, vn("2026-11-13", "15:00"), {"finished_at": vn("2026-11-13", "15:00")}),
            (10, vn("2026-11-13", "16:00"), {"returned_at": vn("2026-11-13", "16:00")}),
        ),
        dossier(
            JUSTICE,
            vn("2026-11-13", "09:00"),
            vn("2026-11-13", "17:00"),  # B: on time
            (9, vn("2026-11-13", "16:00"), {"finished_at": vn("2026-11-13", "16:00")}),
        ),
        dossier(
            JUSTICE,
            vn("2026-11-13", "08:30"),
            vn("2026-11-13", "17:00"),  # C: late
            (9, vn("2026-11-14", "09:00"), {"finished_at": vn("2026-11-14", "09:00")}),
        ),
        dossier(
            JUSTICE,
            vn("2026-11-13", "10:00"),
            vn("2026-11-20", "17:00"),  # D: in progress
            (4, vn("2026-11-13", "11:00")),
        ),
        dossier(
            JUSTICE,
            vn("2026-11-13", "10:30"),
            vn("2026-11-15", "17:00"),  # E: overdue
            (4, vn("2026-11-13", "11:00")),
        ),
        dossier(
            JUSTICE,
            vn("2026-11-15", "10:00"),
            vn("2026-11-20", "17:00"),  # G: withdrawn
            (7, vn("2026-11-15", "11:00")),
        ),
        dossier(JUSTICE, vn("2026-11-14", "10:00"), None),  # H: open, no appointment
        dossier(
            JUSTICE,
            vn("2026-11-13", "07:45"),
            vn("2026-11-18", "17:00"),  # I: refused, early
            (3, vn("2026-11-13", "11:00")),
        ),
        # received earlier in the year (not in the digest's month)
        dossier(
            JUSTICE,
            vn("2026-03-02"),
            vn("2026-03-06", "17:00"),  # J: early thanks to a pause
            (5, vn("2026-03-03", "10:00")),
            (4, vn("2026-03-05", "09:00")),
            (9, vn("2026-03-09", "10:00"), {"finished_at": vn("2026-03-09", "10:00")}),
        ),
        dossier(
            JUSTICE,
            vn("2026-04-01"),
            vn("2026-04-10", "17:00"),  # K: two requests -> late
            (5, vn("2026-04-02")),
            (4, vn("2026-04-02", "15:00")),
            (5, vn("2026-04-03")),
            (4, vn("2026-04-03", "15:00")),
            (9, vn("2026-04-08"), {"finished_at": vn("2026-04-08")}),
        ),
        dossier(
            JUSTICE,
            vn("2026-05-04"),
            vn("2026-05-08", "17:00"),  # L: 9 without finished_at
            (9, vn("2026-05-07")),
            (10, vn("2026-05-11"), {"returned_at": vn("2026-05-11")}),
        ),
        dossier(
            JUSTICE,
            vn("2026-11-10"),
            vn("2026-11-12", "17:00"),  # O: on time, in the trend
            (9, vn("2026-11-12", "16:00"), {"finished_at": vn("2026-11-12", "16:00")}),
        ),
        dossier(
            JUSTICE,
            vn("2025-12-30"),
            vn("2026-01-05", "17:00"),  # M: last year
            (9, vn("2026-01-02"), {"finished_at": vn("2026-01-02")}),
        ),
        dossier(OTHER, vn("2026-11-13"), vn("2026-11-18", "17:00")),  # N: another agency
    )


async def test_digest_figures_worked_out_by_hand(session_factory: Factory) -> None:
    await setup_agencies(session_factory)
    codes = await setup_petitions(session_factory)
    await setup_dossiers(session_factory)
    for level, at in (
        (1, local("2026-11-13", "10:00")),
        (1, local("2026-11-15", "20:00")),
        (3, local("2026-11-14")),
        (2, local("2026-11-05")),
        (2, local("2026-06-01")),
        (5, local("2026-10-31", "23:00")),
        (4, local("2026-11-16", "07:00")),  # today: in no period yet
        (2, local("2025-12-31")),  # last year
    ):
        await rate(session_factory, JUSTICE, level, at)
    await rate(session_factory, OTHER, 5, local("2026-11-13"))

    async with session_factory() as session:
        justice = await AgencyRepository(session).by_code("so-tu-phap")
        assert justice is not None
        stats: dict[str, int] = {}
        by_day = await DigestRepository(session).dossier_figures_by_day(
            JUSTICE, date(2026, 1, 1), date(2026, 11, 15), NOW, stats=stats
        )
        digest = await build_digest(session, justice, DAY, NOW)

    # Dossiers received Fri 13 - Sun 15: A, I early (I refused on the day, before the
    # appointment: the national rule scores refusals too), B on time, C late, D in progress,
    # E overdue (appointment Sunday 15, today is the 16th), G withdrawn, H without appointment.
    assert digest.dossiers_period == DossierFigures(
        early=2, on_time=1, late=1, in_progress=1, overdue=1, pending_other=1, withdrawn=1
    )
    # Since 1 November: + O on time (received Tue 10).
    month = digest.dossiers_month
    assert month == DossierFigures(
        early=2, on_time=2, late=1, in_progress=1, overdue=1, pending_other=1, withdrawn=1
    )
    assert (month.received, month.resolved, month.open) == (9, 5, 3)
    # Since 1 January, day by day: + J early (a 2-working-day supplement pause moved its
    # appointment from Fri 6 to Tue 10 March; finished Mon 9), K late (two supplement
    # requests), L early (its "processed" status on 7 May counts, not the return on the 11th).
    # M was received in 2025, N belongs to another agency.
    year = sum(by_day.values(), DossierFigures())
    assert year == DossierFigures(
        early=4, on_time=2, late=2, in_progress=1, overdue=1, pending_other=1, withdrawn=1
    )
    assert (year.received, year.resolved, year.open) == (12, 8, 3)
    # G (withdrawn), I (refused), J, K (supplements) were decided from their history; the 8
    # others in SQL, L through its first "processed" status (it has no finished_at).
    assert stats == {"sql": 8, "history": 4}
    assert by_day[date(2026, 3, 2)] == DossierFigures(early=1)  # J, on its day of reception

    # Ratings given Fri 13 - Sun 15: two "very satisfied", one "neutral"; since 1 November:
    # + "satisfied" (the 5th); June's, 31 October's (23:00, Hanoi time) and today's do not
    # count.
    assert digest.satisfaction_period.levels == (2, 0, 1, 0, 0)
    assert digest.satisfaction_month.levels == (2, 1, 1, 0, 0)

    # Petitions (Monday 16 November):
    # - new Fri 13 - Sun 15: P1 (13th 09:00), P8 (13th 14:00, refused since), P7 (Sat 14th);
    # - open: P1, P2, P7 (received), P3, P4 (in progress);
    # - P2 (received Mon 9) should have been accepted or refused by Wed 11: overdue;
    #   P3 (received Mon 26 Oct) must be answered by today, the 15th working day: due soon;
    #   P1 (Fri 13) to accept or refuse by Tue 17: due soon; P4 (taken, nothing asked) may ask
    #   for more information until today; P7 (received Saturday, counts from Monday) has until
    #   Wed 18: not listed;
    # - awaiting publication: P6 (answered Tue 10, publish by Thu 12: overdue), P5 (answered
    #   Thu 12, publish by today: due soon);
    # - received since 1 November: seven of the agency (P3 came in October; P9 went to the
    #   land department).
    pet = digest.petitions
    assert pet.new == 3
    assert [i.code for i in pet.new_items] == [codes["P1"], codes["P8"], codes["P7"]]
    assert pet.open == 5
    assert (pet.deadline_overdue, pet.deadline_due_soon) == (1, 3)
    assert [(i.code, i.kind, i.deadline, i.state) for i in pet.deadline_items] == [
        (codes["P2"], DEADLINE_REFUSE, date(2026, 11, 11), "overdue"),
        (codes["P3"], DEADLINE_ANSWER, date(2026, 11, 16), "due_soon"),
        (codes["P4"], DEADLINE_INFO, date(2026, 11, 16), "due_soon"),
        (codes["P1"], DEADLINE_REFUSE, date(2026, 11, 17), "due_soon"),
    ]
    assert (pet.awaiting_publication, pet.publication_overdue, pet.publication_due_soon) == (
        2,
        1,
        1,
    )
    assert [(i.code, i.kind, i.deadline) for i in pet.publication_items] == [
        (codes["P6"], DEADLINE_PUBLISH, date(2026, 11, 12)),
        (codes["P5"], DEADLINE_PUBLISH, date(2026, 11, 16)),
    ]
    assert pet.month == 7

    # The chart's 14 days (2 - 15 November): dossiers received and of them resolved, petitions.
    trend = {
        t.day: (t.dossiers_received, t.dossiers_resolved, t.petitions_received)
        for t in digest.trend
    }
    assert (
        len(digest.trend) == 14
        and min(trend) == date(2026, 11, 2)
        and max(trend) == date(2026, 11, 15)
    )
    assert trend[date(2026, 11, 13)] == (6, 4, 2)  # A B C D E I; A B C I resolved; P1 P8
    assert trend[date(2026, 11, 14)] == (1, 0, 1)  # H; P7
    assert trend[date(2026, 11, 15)] == (1, 0, 0)  # G (withdrawn is not resolved)
    assert trend[date(2026, 11, 10)] == (1, 1, 0)  # O
    assert trend[date(2026, 11, 2)] == (0, 0, 2)  # P5, P6
    assert trend[date(2026, 11, 9)] == (0, 0, 2)  # P2, P4
    assert [t.working_day for t in digest.trend].count(False) == 4  # two weekends

    # The payload round-trips through JSON.
    assert Digest.from_payload(digest.to_payload()) == digest


async def test_an_agency_without_dossiers_has_no_dossier_section(session_factory: Factory) -> None:
    await setup_agencies(session_factory)
    await setup_petitions(session_factory)
    async with session_factory() as session:
        land = await AgencyRepository(session).by_code("so-nnmt")
        assert land is not None
        digest = await build_digest(session, land, DAY, NOW)
    assert digest.dossiers_period is None and not digest.has_dossiers
    assert digest.petitions.new == 1  # P9, Fri 13


def test_the_warning_horizon_is_deadline_status() -> None:
    """The SQL bound for "due soon" is exactly ``deadline_status``'s rule, around weekends
    and Tết 2026 (16-20 February off)."""
    for today in (date(2026, 2, 9) + timedelta(days=i) for i in range(30)):
        now = datetime.combine(today, datetime.min.time(), VN_TZ) + timedelta(hours=8)
        horizon = due_soon_until(today)
        for d in (today + timedelta(days=i) for i in range(15)):
            soon = deadline_status(d, now) == DeadlineStatus.DUE_SOON
            assert soon == (d <= horizon), (today, d)


# --- agreement with knowledge.timeliness ------------------------------------------------------


def generated_dossiers(count: int, seed: int) -> list[list[Any]]:
    """``count`` dossiers with the histories one-door exports produce: straight through
    (with or without finished/returned times, or a finished time later than the "processed"
    status), supplement requests (one or several, answered or not, or resumed the same day in
    date-only exports), refusals, withdrawals, stops, untimed statuses, re-opened dossiers;
    on-time, early and late ones."""
    rng = random.Random(seed)
    first = datetime(2026, 9, 1, 8, 0)
    out: list[list[Any]] = []
    for _ in range(count):
        received = first + timedelta(days=rng.randrange(75), minutes=rng.randrange(540))
        limit = rng.choice((0, 1, 2, 3, 5, 10))
        due = add_working_days(received.date(), limit)
        appointment = None if rng.random() < 0.06 else f"{due.isoformat()} 17:00"
        t = received

        def later(hours: float) -> str:
            nonlocal t
            t = t + timedelta(hours=hours * rng.uniform(0.3, 1.7))
            return t.strftime("%Y-%m-%d %H:%M")

        steps: list[Any] = []
        flow = rng.choices(
            [
                "finished",
                "returned",
                "no_finish_time",
                "supplement",
                "open",
                "stop",
                "untimed",
                "date_only",
                "reopened",
                "finish_time_later",
            ],
            weights=[30, 12, 8, 20, 15, 10, 5, 8, 4, 4],
        )[0]
        span = rng.uniform(0.2, 1.6) * max(limit, 1) * 24
        if flow in ("finished", "returned", "no_finish_time"):
            steps.append((4, later(2)))
            if flow == "finished":
                at = later(span)
                steps.append((9, at, {"finished_at": at}))
                if rng.random() < 0.6:
                    back = later(20)
                    steps.append((10, back, {"returned_at": back}))
            elif flow == "returned":
                back = later(span)
                steps.append((10, back, {"returned_at": back}))
            else:
                steps.append((9, later(span)))
                if rng.random() < 0.5:
                    back = later(24)
                    steps.append((10, back, {"returned_at": back}))
        elif flow == "supplement":
            for _request in range(rng.choice((1, 1, 1, 2, 3))):
                steps.append((5, later(rng.uniform(1, 30))))
                if rng.random() < 0.85:
                    steps.append((4, later(rng.uniform(2, 72))))
            if steps[-1][0] == 4 and rng.random() < 0.8:
                at = later(span)
                steps.append((9, at, {"finished_at": at}))
        elif flow == "open":
            steps.append((4, later(3)))
        elif flow == "stop":
            steps.append((4, later(3)))
            steps.append((rng.choice((3, 7, 8)), later(span)))
        elif flow == "date_only":
            # Exports with dates only: the supplement request and the resumption on one day,
            # in that order (ties are kept in the order they were recorded).
            day = later(rng.uniform(2, 48))[:10]
            steps.append((5, day))
            steps.append((4, day))
            if rng.random() < 0.7:
                done = later(span + 24)[:10]
                steps.append((9, done, {"finished_at": done}))
        elif flow == "finish_time_later":
            # "processed" on one day; the return's export carries a later finished_at.
            steps.append((9, later(span)))
            back, finished = later(30), later(-10)
            steps.append((10, back, {"returned_at": back, "finished_at": finished}))
        elif flow == "reopened":
            steps.append((9, later(span)))  # "processed" without a finished time, then re-opened
            steps.append((4, later(24)))
        else:
            steps.append((4, None))
            if rng.random() < 0.5:
                at = later(span)
                steps.append((9, at, {"finished_at": at}))
        out.append(dossier(JUSTICE, received.strftime("%Y-%m-%d %H:%M"), appointment, *steps))
    return out


async def test_the_fast_path_agrees_with_the_national_rule_on_every_dossier(
    session_factory: Factory,
) -> None:
    generated = generated_dossiers(400, seed=7)
    await load(session_factory, *generated)
    now = datetime(2026, 11, 20, 10, 0, tzinfo=VN_TZ)
    expected: dict[date, Counter[str]] = defaultdict(Counter)
    async with session_factory() as session:
        repo = DossierRepository(session)
        ids = (await session.execute(select(Dossier.id).where(Dossier.agency == JUSTICE))).scalars()
        for dossier_id in ids:
            view = await repo.find_by_id(dossier_id)
            assert view is not None and view.received_at is not None
            verdict = timeliness_of(view, now)  # what the chat tells the citizen
            events = [StatusEvent(e.status, e.status_at) for e in view.events]
            expected[local_date(view.received_at)][bucket_of(verdict, events)] += 1
        stats: dict[str, int] = {}
        got = await DigestRepository(session).dossier_figures_by_day(
            JUSTICE, date(2026, 9, 1), date(2026, 11, 19), now, stats=stats
        )
    assert got == {d: DossierFigures.from_counts(c) for d, c in expected.items()}
    total = sum(got.values(), DossierFigures())
    assert total.received == 400
    # Every bucket occurs, and both paths did real work.
    assert all(v > 0 for v in total.as_dict().values()), total
    assert stats["sql"] > 120 and stats["history"] > 120, stats


# --- the outbox -----------------------------------------------------------------------------------


async def digest_rows(factory: Factory) -> list[OutboxMessage]:
    async with factory() as session:
        result = await session.execute(
            select(OutboxMessage)
            .where(OutboxMessage.kind == OutboxKind.DIGEST)
            .order_by(OutboxMessage.id)
        )
        return list(result.scalars())


async def test_one_digest_per_active_official_and_never_twice(session_factory: Factory) -> None:
    ids = await setup_agencies(session_factory)
    await setup_petitions(session_factory)
    await setup_dossiers(session_factory)

    runs = await run_digests(session_factory, DAY, NOW.astimezone(UTC))
    assert sorted((r.agency_code, r.officials, r.enqueued, r.skipped) for r in runs) == [
        ("so-nnmt", 1, 1, False),
        ("so-tu-phap", 2, 2, False),
    ]
    rows = await digest_rows(session_factory)
    assert {r.dedup_key for r in rows} == {
        dedup_key(ids["justice"], DAY, ids["admin"]),
        dedup_key(ids["justice"], DAY, ids["officer"]),
        dedup_key(ids["land"], DAY, ids["land_officer"]),
    }
    by_chat = {r.chat_id: r for r in rows}
    assert by_chat["501"].language == "vi" and by_chat["502"].language == "en"
    digest = Digest.from_payload(by_chat["501"].payload["digest"])
    assert digest.agency_code == "so-tu-phap" and digest.dossiers_period is not None
    assert by_chat["501"].payload["official_id"] == ids["admin"]
    assert len(str(by_chat["501"].payload)) < 8_000  # the outbox stays small

    # Again (a restart, the command line): nothing new, nothing even rebuilt.
    again = await run_digests(session_factory, DAY, NOW.astimezone(UTC))
    assert {(r.agency_code, r.enqueued, r.skipped) for r in again} == {
        ("so-nnmt", 0, True),
        ("so-tu-phap", 0, True),
    }
    # A new official of the agency gets today's digest; the others do not get it twice.
    async with session_factory() as session:
        officials = OfficialRepository(session)
        code, _ = await officials.create_invitation(ids["justice"], "officer")
        newcomer = await officials.enroll(code, channel="web", chat_id="w-9", language="vi")
        await session.commit()
    third = await run_digests(session_factory, DAY, NOW.astimezone(UTC), agency_code="so-tu-phap")
    assert [(r.enqueued, r.skipped) for r in third] == [(1, False)]
    rows = await digest_rows(session_factory)
    assert len(rows) == 4 and rows[-1].chat_id == "w-9" and rows[-1].channel == "web"
    assert rows[-1].dedup_key == dedup_key(ids["justice"], DAY, newcomer.id)

    # An inactive official gets nothing the next day.
    async with session_factory() as session:
        await OfficialRepository(session).deactivate(ids["officer"])
        await session.commit()
    nxt = DAY + timedelta(days=1)
    await run_digests(session_factory, nxt, NOW.astimezone(UTC) + timedelta(days=1))
    tomorrow = [
        r
        for r in await digest_rows(session_factory)
        if f":{nxt.isoformat()}:" in (r.dedup_key or "")
    ]
    assert sorted(r.chat_id for r in tomorrow) == ["501", "601", "w-9"]


# --- the scheduler --------------------------------------------------------------------------------


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def test_scheduler_runs_on_working_days_at_the_digest_time(session_factory: Factory) -> None:
    await setup_agencies(session_factory)
    woken: list[int] = []
    clock = Clock(datetime(2026, 11, 16, 7, 29, tzinfo=VN_TZ))  # Monday, a minute early
    scheduler = DigestScheduler(
        session_factory, digest_time="07:30", wake=lambda: woken.append(1), clock=clock
    )
    assert await scheduler.run_once() is None
    assert scheduler.next_due(clock.now) == datetime(2026, 11, 16, 7, 30, tzinfo=VN_TZ)

    clock.now = datetime(2026, 11, 16, 7, 30, tzinfo=VN_TZ)
    runs = await scheduler.run_once()
    assert runs is not None and sum(r.enqueued for r in runs) == 3 and woken == [1]
    assert await scheduler.run_once() is None  # once a day
    clock.now = datetime(2026, 11, 16, 18, 0, tzinfo=VN_TZ)
    assert await scheduler.run_once() is None
    # Friday's digest is followed by Monday's: nothing on Saturday and Sunday.
    friday_evening = datetime(2026, 11, 20, 18, 0, tzinfo=VN_TZ)
    assert scheduler.next_due(friday_evening) == datetime(2026, 11, 23, 7, 30, tzinfo=VN_TZ)
    clock.now = datetime(2026, 11, 21, 9, 0, tzinfo=VN_TZ)  # Saturday
    assert await scheduler.run_once() is None
    assert len(await digest_rows(session_factory)) == 3


async def test_scheduler_skips_holidays(session_factory: Factory) -> None:
    await setup_agencies(session_factory)
    # Tết 2026: Monday 16 to Friday 20 February are days off; the next digest is Monday 23rd,
    # and it covers the whole holiday (from Friday 13th, the last working day before).
    clock = Clock(datetime(2026, 2, 18, 9, 0, tzinfo=VN_TZ))
    scheduler = DigestScheduler(session_factory, digest_time="07:30", clock=clock)
    assert await scheduler.run_once() is None
    assert scheduler.next_due(clock.now) == datetime(2026, 2, 23, 7, 30, tzinfo=VN_TZ)
    clock.now = datetime(2026, 2, 23, 7, 31, tzinfo=VN_TZ)
    assert await scheduler.run_once() is not None
    rows = await digest_rows(session_factory)
    digest = Digest.from_payload(rows[0].payload["digest"])
    assert (digest.periods.start, digest.periods.end) == (date(2026, 2, 13), date(2026, 2, 22))
    # 2 September (National Day) is a day off too.
    assert scheduler.next_due(datetime(2026, 9, 1, 18, 0, tzinfo=VN_TZ)).date() != date(2026, 9, 2)


async def test_scheduler_catches_up_once_and_survives_restarts(session_factory: Factory) -> None:
    await setup_agencies(session_factory)
    # The process was down at 07:30 and starts at 15:00: it sends today's digests once.
    clock = Clock(datetime(2026, 11, 17, 15, 0, tzinfo=VN_TZ))
    first = DigestScheduler(session_factory, digest_time="07:30", clock=clock)
    runs = await first.run_once()
    assert runs is not None and sum(r.enqueued for r in runs) == 3
    # Restarted at 16:00: a new scheduler runs again, but every official already has it.
    clock.now = datetime(2026, 11, 17, 16, 0, tzinfo=VN_TZ)
    second = DigestScheduler(session_factory, digest_time="07:30", clock=clock)
    runs = await second.run_once()
    assert runs is not None and all(r.skipped and r.enqueued == 0 for r in runs)
    assert len(await digest_rows(session_factory)) == 3
    # Off: nothing at all.
    off = DigestScheduler(session_factory, digest_time="07:30", enabled=False, clock=clock)
    clock.now = datetime(2026, 11, 18, 8, 0, tzinfo=VN_TZ)
    assert await off.run_once() is None
    await off.run()  # returns at once when disabled
    assert len(await digest_rows(session_factory)) == 3


async def test_scheduler_loop_sleeps_until_the_next_working_day(session_factory: Factory) -> None:
    await setup_agencies(session_factory)
    clock = Clock(datetime(2026, 11, 20, 7, 45, tzinfo=VN_TZ))  # Friday, after 07:30
    sleeps: list[float] = []

    class Stop(Exception):
        pass

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.now += timedelta(seconds=seconds)
        if len(sleeps) >= 20:
            raise Stop

    scheduler = DigestScheduler(
        session_factory, digest_time="07:30", clock=clock, sleep=fake_sleep, max_sleep=7 * 86_400
    )
    with pytest.raises(Stop):
        await scheduler.run()
    rows = await digest_rows(session_factory)
    days = sorted({(r.dedup_key or "").split(":")[2] for r in rows})
    # Friday (caught up at 07:45), then Monday, then Wednesday: Tuesday 24 November is
    # Vietnam Cultural Day, a day off since 2026; never a weekend day.
    assert days[:3] == ["2026-11-20", "2026-11-23", "2026-11-25"]
    assert all(date.fromisoformat(d).weekday() < 5 for d in days)
    assert len(rows) == 3 * len(days)
    # The first sleep lasts until Monday 07:30 (the weekend is slept through).
    assert (
        sleeps[0]
        == (
            datetime(2026, 11, 23, 7, 30, tzinfo=VN_TZ)
            - datetime(2026, 11, 20, 7, 45, tzinfo=VN_TZ)
        ).total_seconds()
    )
