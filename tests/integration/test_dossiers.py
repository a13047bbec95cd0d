"""storage.repositories.dossiers on SQLite (always) and PostgreSQL (when reachable): bulk upsert with history,
notifications through the outbox, the chat's lookup, subscriptions and API keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from knowledge.dossier import DossierChannel, Status
from knowledge.dossier_records import DossierRecord, parse_record
from storage.models import (
    ApiKey,
    Dossier,
    DossierApology,
    DossierEvent,
    DossierSubscription,
    OutboxMessage,
)
from storage.repositories.api_keys import ApiKeyRepository
from storage.repositories.dossiers import (
    DossierApologyView,
    DossierEventView,
    DossierRepository,
    ForeignDossierError,
    IngestResult,
)

CODE = "000.00.17.H12-260315-0042"
KEY = "0000017H122603150042"


def record(**fields: Any) -> DossierRecord:
    row: dict[str, Any] = {
        "receipt_code": CODE,
        "agency": "UBND Quận 1",
        "status": 2,
        "received_at": "2026-03-15 08:30",
        "appointment_at": "2026-03-20 17:00",
        "applicant_name": "Nguyễn Văn An",
        "applicant_phone": "0912345678",
    }
    row.update(fields)
    return parse_record(row)


async def upsert(
    factory: async_sessionmaker[AsyncSession], *records: DossierRecord, **kwargs: Any
) -> IngestResult:
    async with factory() as session:
        result = await DossierRepository(session).upsert_many(list(records), "test", **kwargs)
        await session.commit()
        return result


async def counts(factory: async_sessionmaker[AsyncSession]) -> tuple[int, int, int, int]:
    async with factory() as session:
        values = []
        for model in (Dossier, DossierEvent, DossierApology, OutboxMessage):
            values.append(await session.scalar(select(func.count()).select_from(model)))
        return tuple(values)  # type: ignore[return-value]


async def outbox(factory: async_sessionmaker[AsyncSession]) -> list[tuple[Any, ...]]:
    async with factory() as session:
        result = await session.execute(
            select(
                OutboxMessage.kind,
                OutboxMessage.channel,
                OutboxMessage.chat_id,
                OutboxMessage.language,
                OutboxMessage.payload,
                OutboxMessage.dedup_key,
            ).order_by(OutboxMessage.id)
        )
        return [tuple(row) for row in result]


async def test_first_import_then_identical_reimport_changes_nothing(session_factory) -> None:
    other = record(receipt_code="000.00.17.H12-260315-0043", status=4, status_at="2026-03-16")
    first = await upsert(session_factory, record(), other)
    assert first == IngestResult(inserted=2, updated=0, unchanged=0, events_added=2)
    async with session_factory() as session:
        before = (await session.execute(select(Dossier.updated_at).order_by(Dossier.id))).all()

    again = await upsert(session_factory, record(), other)
    assert again == IngestResult(inserted=0, updated=0, unchanged=2, events_added=0)
    assert await counts(session_factory) == (2, 2, 0, 0)
    async with session_factory() as session:
        after = (await session.execute(select(Dossier.updated_at).order_by(Dossier.id))).all()
    assert after == before  # not even touched


async def test_find_returns_the_dossier_with_its_history_in_time_order(session_factory) -> None:
    assert await upsert(session_factory, record(channel="trực tuyến")) == IngestResult(1, 0, 0, 1)
    later = record(
        status=5,
        status_at="2026-03-17 10:00",
        note="Bổ sung bản sao CCCD",
        new_appointment_at="2026-03-25 17:00",
        delay_reason="Chờ công dân bổ sung",
    )
    assert await upsert(session_factory, later) == IngestResult(0, 1, 0, 1)
    async with session_factory() as session:
        view = await DossierRepository(session).find(KEY)
        assert await DossierRepository(session).find("0000017H122603159999") is None
    assert view is not None
    assert view.receipt_code == CODE and view.agency == "UBND Quận 1"
    assert view.status is Status.SUPPLEMENT_REQUESTED
    assert view.channel is DossierChannel.ONLINE
    assert view.applicant_phone == "0912345678"  # blank fields of the later row kept the value
    assert view.received_at == datetime(2026, 3, 15, 1, 30, tzinfo=UTC)
    assert view.status_at == datetime(2026, 3, 17, 3, 0, tzinfo=UTC)
    assert view.events == (
        DossierEventView(Status.ACCEPTED, datetime(2026, 3, 15, 1, 30, tzinfo=UTC), None),
        DossierEventView(
            Status.SUPPLEMENT_REQUESTED,
            datetime(2026, 3, 17, 3, 0, tzinfo=UTC),
            "Bổ sung bản sao CCCD",
        ),
    )
    assert view.apologies == (
        DossierApologyView(datetime(2026, 3, 25, 10, 0, tzinfo=UTC), "Chờ công dân bổ sung"),
    )
    assert view.source == "test"


async def test_older_status_adds_history_but_does_not_overwrite_or_notify(
    session_factory,
) -> None:
    await upsert(session_factory, record(status=9, status_at="2026-03-19 10:00"))
    async with session_factory() as session:
        view = await DossierRepository(session).find(KEY)
        assert view is not None
        assert await DossierRepository(session).subscribe(view.id, "telegram", "42", "vi")
        await session.commit()

    older = record(status=4, status_at="2026-03-16 09:00", applicant_name="Someone Else")
    assert await upsert(session_factory, older) == IngestResult(0, 0, 1, events_added=1)
    assert await upsert(session_factory, older) == IngestResult(0, 0, 1, events_added=0)
    async with session_factory() as session:
        view = await DossierRepository(session).find(KEY)
    assert view is not None
    assert view.status is Status.PROCESSED
    assert view.applicant_name == "Nguyễn Văn An"
    assert [event.status for event in view.events] == [Status.PROCESSING, Status.PROCESSED]
    assert await outbox(session_factory) == []


async def test_subscribers_are_notified_once_per_new_status_and_asked_to_rate_on_return(
    session_factory,
) -> None:
    await upsert(session_factory, record())
    async with session_factory() as session:
        repo = DossierRepository(session)
        view = await repo.find(KEY)
        assert view is not None
        assert await repo.subscribe(view.id, "telegram", "42", "vi") is True
        assert await repo.subscribe(view.id, "telegram", "42", "en") is False  # idempotent
        assert await repo.subscribe(view.id, "web", "visitor-1", None) is True
        assert await repo.is_subscribed(view.id, "web", "visitor-1")
        await session.commit()
        result = await session.execute(select(DossierSubscription.channel, DossierSubscription.id))
        subscriptions = dict(result.tuples().all())

    processing = record(status=4, status_at="2026-03-16 09:00")
    assert (await upsert(session_factory, processing)).notified == 2
    assert (await upsert(session_factory, processing)).notified == 0  # re-import: nothing new
    messages = await outbox(session_factory)
    async with session_factory() as session:
        event_id = await session.scalar(select(DossierEvent.id).where(DossierEvent.status == 4))
    assert messages == [
        (
            "dossier_status",
            channel,
            chat,
            language,
            {"dossier_id": view.id, "event_id": event_id, "status": 4},
            f"dossier_status:{event_id}:{subscriptions[channel]}",
        )
        for channel, chat, language in (("telegram", "42", "en"), ("web", "visitor-1", None))
    ]

    async with session_factory() as session:
        assert await DossierRepository(session).unsubscribe(view.id, "web", "visitor-1")
        assert not await DossierRepository(session).unsubscribe(view.id, "web", "visitor-1")
        assert not await DossierRepository(session).is_subscribed(view.id, "web", "visitor-1")
        await session.commit()

    returned = record(status=10, status_at="2026-03-19 16:00")
    assert (await upsert(session_factory, returned)).notified == 2
    assert (await upsert(session_factory, returned)).notified == 0
    kinds = [(kind, payload, key) for kind, _, _, _, payload, key in await outbox(session_factory)]
    assert len(kinds) == 4
    assert kinds[2][0] == "dossier_status" and kinds[2][1]["status"] == 10
    assert kinds[3] == (
        "dossier_rating",
        {"dossier_id": view.id},
        f"dossier_rating:{view.id}:{subscriptions['telegram']}",
    )


async def test_followers_are_told_once_about_each_new_apology_letter(session_factory) -> None:
    """A new ``new_appointment_at`` of a followed dossier (form 04) enqueues a
    ``dossier_apology`` per subscription in the same transaction; a letter already stored
    enqueues nothing, and a first import (nobody follows yet) neither."""
    first = record(new_appointment_at="2026-03-22 17:00", delay_reason="Chờ ý kiến")
    assert await upsert(session_factory, first) == IngestResult(1, 0, 0, events_added=1)
    assert await outbox(session_factory) == []
    async with session_factory() as session:
        repo = DossierRepository(session)
        view = await repo.find(KEY)
        assert view is not None
        assert await repo.subscribe(view.id, "telegram", "42", "vi")
        assert await repo.subscribe(view.id, "web", "visitor-1", None)
        await session.commit()
        result = await session.execute(select(DossierSubscription.channel, DossierSubscription.id))
        subscriptions = dict(result.tuples().all())
    followers = (("telegram", "42", "vi"), ("web", "visitor-1", None))

    def apologies(when: str, reason: str | None) -> list[tuple[Any, ...]]:
        return [
            (
                "dossier_apology",
                channel,
                chat,
                language,
                {"dossier_id": view.id, "new_appointment_at": when, "reason": reason},
                f"dossier_apology:{view.id}:{when}:{subscriptions[channel]}",
            )
            for channel, chat, language in followers
        ]

    delayed = record(new_appointment_at="2026-03-25 17:00", delay_reason="Chờ xác minh")
    assert await upsert(session_factory, delayed) == IngestResult(0, 1, 0, 0, notified=2)
    expected = apologies("2026-03-25T10:00:00+00:00", "Chờ xác minh")
    assert await outbox(session_factory) == expected
    # the same letter again, or the earlier one re-sent: not new, nothing enqueued
    assert await upsert(session_factory, delayed) == IngestResult(0, 0, 1, 0, 0)
    assert (await upsert(session_factory, first)).notified == 0
    assert (await upsert(session_factory, delayed)).notified == 0
    assert await outbox(session_factory) == expected

    # a second, later letter (without a reason): one more per follower
    later = record(new_appointment_at="2026-03-28 17:00")
    assert (await upsert(session_factory, later)).notified == 2
    assert (await upsert(session_factory, later)).notified == 0
    expected += apologies("2026-03-28T10:00:00+00:00", None)
    assert await outbox(session_factory) == expected

    # a status change and a letter in the same row: both kinds, status first
    both = record(
        status=5,
        status_at="2026-03-27 09:00",
        new_appointment_at="2026-04-02 17:00",
        delay_reason="Chờ bổ sung",
    )
    assert await upsert(session_factory, both) == IngestResult(0, 1, 0, 1, notified=4)
    assert await upsert(session_factory, both) == IngestResult(0, 0, 1, 0, 0)
    added = (await outbox(session_factory))[len(expected) :]
    assert [(kind, channel) for kind, channel, *_ in added] == [
        ("dossier_status", "telegram"),
        ("dossier_status", "web"),
        ("dossier_apology", "telegram"),
        ("dossier_apology", "web"),
    ]
    assert added[0][4]["status"] == 5
    assert added[2:] == apologies("2026-04-02T10:00:00+00:00", "Chờ bổ sung")

    # two new letters of one dossier in one chunk: each is told
    rows = [
        record(new_appointment_at="2026-04-05 17:00", delay_reason="Một"),
        record(new_appointment_at="2026-04-08 17:00", delay_reason="Hai"),
    ]
    assert (await upsert(session_factory, *rows)).notified == 4
    assert (await upsert(session_factory, *rows)).notified == 0
    assert (await outbox(session_factory))[-4:] == [
        *apologies("2026-04-05T10:00:00+00:00", "Một"),
        *apologies("2026-04-08T10:00:00+00:00", "Hai"),
    ]
    async with session_factory() as session:
        view = await DossierRepository(session).find(KEY)
    assert view is not None and len(view.apologies) == 6
    assert await counts(session_factory) == (1, 2, 6, 12)


async def test_several_rows_of_one_dossier_in_one_chunk_apply_in_order(session_factory) -> None:
    rows = [
        record(status=2),
        record(status=4, status_at="2026-03-16 09:00"),
        record(status=9, status_at="2026-03-18 09:00", finished_at="2026-03-18 09:00"),
        record(status=4, status_at="2026-03-16 09:00"),  # repeated: nothing more
    ]
    assert await upsert(session_factory, *rows) == IngestResult(1, 0, 0, events_added=3)
    assert await upsert(session_factory, *rows) == IngestResult(0, 0, 1, events_added=0)
    async with session_factory() as session:
        view = await DossierRepository(session).find(KEY)
    assert view is not None and view.status is Status.PROCESSED
    assert view.finished_at == datetime(2026, 3, 18, 2, 0, tzinfo=UTC)
    assert [e.status for e in view.events] == [Status.ACCEPTED, Status.PROCESSING, Status.PROCESSED]


async def test_a_status_without_time_is_recorded_once(session_factory) -> None:
    timeless = {"received_at": "", "appointment_at": ""}
    assert (await upsert(session_factory, record(status=1, **timeless))).events_added == 1
    assert (await upsert(session_factory, record(status=1, **timeless))).events_added == 0
    changed = await upsert(session_factory, record(status=4, **timeless))
    assert changed == IngestResult(0, 1, 0, events_added=1)
    async with session_factory() as session:
        view = await DossierRepository(session).find(KEY)
    assert view is not None and view.status is Status.PROCESSING and view.status_at is None


async def follow(factory: async_sessionmaker[AsyncSession]) -> int:
    return await follow_code(factory, CODE)


async def statuses(factory: async_sessionmaker[AsyncSession]) -> tuple[Status, list[Status]]:
    async with factory() as session:
        view = await DossierRepository(session).find(KEY)
    assert view is not None
    return view.status, [event.status for event in view.events]


async def test_reimporting_statuses_without_time_adds_and_notifies_nothing(
    session_factory,
) -> None:
    """NULL status times never clash in the history's unique index: a re-import of 2 (time
    from received_at), 4 and 5 (no time) must not add 4 and 5 again nor push them again."""
    rows = [record(status=2), record(status=4), record(status=5)]
    assert await upsert(session_factory, *rows) == IngestResult(1, 0, 0, events_added=3)
    await follow(session_factory)
    for _ in range(3):
        assert await upsert(session_factory, *rows) == IngestResult(0, 0, 1, 0, 0)
        # one row at a time (rows split over chunks) too
        for row in rows:
            assert (await upsert(session_factory, row)).events_added == 0
    assert await statuses(session_factory) == (
        Status.SUPPLEMENT_REQUESTED,
        [Status.ACCEPTED, Status.PROCESSING, Status.SUPPLEMENT_REQUESTED],
    )
    assert await outbox(session_factory) == []
    assert await counts(session_factory) == (1, 3, 0, 0)

    # a re-sent old snapshot with a time does not take the current (timeless) status back
    assert await upsert(session_factory, record(status=2)) == IngestResult(0, 0, 1, 0, 0)
    assert (await statuses(session_factory))[0] is Status.SUPPLEMENT_REQUESTED
    # a timeless row of the current status changes the other fields only
    fixed = await upsert(session_factory, record(status=5, applicant_name="Nguyễn Văn Ân"))
    assert fixed == IngestResult(0, 1, 0, 0, 0)
    # a new status without time is recorded and pushed once
    stopped = record(status=8)
    assert await upsert(session_factory, stopped) == IngestResult(0, 1, 0, 1, 1)
    assert await upsert(session_factory, *rows, stopped) == IngestResult(0, 0, 1, 0, 0)
    assert await statuses(session_factory) == (
        Status.STOPPED,
        [Status.ACCEPTED, Status.PROCESSING, Status.SUPPLEMENT_REQUESTED, Status.STOPPED],
    )
    assert len(await outbox(session_factory)) == 1


def lookup(code: str) -> str:
    return "".join(ch for ch in code if ch.isalnum())


async def follow_code(factory: async_sessionmaker[AsyncSession], code: str) -> int:
    async with factory() as session:
        view = await DossierRepository(session).find(lookup(code))
        assert view is not None
        assert await DossierRepository(session).subscribe(view.id, "telegram", "42", "vi")
        await session.commit()
        return view.id


async def status_of(factory: async_sessionmaker[AsyncSession], code: str) -> tuple[Any, ...]:
    async with factory() as session:
        view = await DossierRepository(session).find(lookup(code))
    assert view is not None
    return view.status, [event.status for event in view.events]


async def pushed(factory: async_sessionmaker[AsyncSession], dossier_id: int) -> list[int]:
    return [
        payload["status"]
        for kind, _, _, _, payload, _ in await outbox(factory)
        if kind == "dossier_status" and payload["dossier_id"] == dossier_id
    ]


async def test_a_new_status_of_the_same_day_becomes_current_and_is_pushed(
    session_factory,
) -> None:
    """Date-only exports (dd/mm/yyyy) give the statuses of one day the same time: "supplement
    requested" (5) then processing again (4) on that day is the normal cycle, not a step back."""
    steps = [(4, "16/03/2026"), (5, "17/03/2026"), (4, "17/03/2026")]
    cycle = [record(status=status, status_at=day) for status, day in steps]
    assert await upsert(session_factory, cycle[0]) == IngestResult(1, 0, 0, 1, 0)
    dossier_id = await follow(session_factory)
    assert await upsert(session_factory, cycle[1]) == IngestResult(0, 1, 0, 1, 1)
    assert await upsert(session_factory, cycle[2]) == IngestResult(0, 1, 0, 1, 1)
    expected = (
        Status.PROCESSING,
        [Status.PROCESSING, Status.SUPPLEMENT_REQUESTED, Status.PROCESSING],
    )
    assert await statuses(session_factory) == expected  # same day: in the order stored
    assert await pushed(session_factory, dossier_id) == [5, 4]  # one push per new status

    # re-importing the whole file, or any row of it, changes nothing and pushes nothing
    for _ in range(2):
        assert await upsert(session_factory, *cycle) == IngestResult(0, 0, 1, 0, 0)
        for row in cycle:
            assert await upsert(session_factory, row) == IngestResult(0, 0, 1, 0, 0)
    assert await statuses(session_factory) == expected
    assert await pushed(session_factory, dossier_id) == [5, 4]
    assert await counts(session_factory) == (1, 3, 0, 2)

    # the whole cycle in one chunk: a new dossier ends at 4; a followed one hears of each
    other = "000.00.17.H12-260315-0043"
    rows = [record(receipt_code=other, status=status, status_at=day) for status, day in steps]
    assert await upsert(session_factory, *rows) == IngestResult(1, 0, 0, 3, 0)
    assert await status_of(session_factory, other) == expected
    third = "000.00.17.H12-260315-0044"
    await upsert(session_factory, record(receipt_code=third, status=4, status_at="16/03/2026"))
    third_id = await follow_code(session_factory, third)
    rows = [record(receipt_code=third, status=status, status_at=day) for status, day in steps]
    assert await upsert(session_factory, *rows) == IngestResult(0, 1, 0, 2, 2)
    assert await status_of(session_factory, third) == expected
    assert await pushed(session_factory, third_id) == [5, 4]
    assert await upsert(session_factory, *rows) == IngestResult(0, 0, 1, 0, 0)


async def test_processing_after_payment_on_the_same_day_becomes_current(session_factory) -> None:
    day = "18/03/2026"
    assert (await upsert(session_factory, record(status=6, status_at=day))).inserted == 1
    dossier_id = await follow(session_factory)
    assert await upsert(session_factory, record(status=4, status_at=day)) == IngestResult(
        0, 1, 0, 1, 1
    )
    assert await statuses(session_factory) == (
        Status.PROCESSING,
        [Status.PAYMENT_REQUESTED, Status.PROCESSING],
    )
    assert await pushed(session_factory, dossier_id) == [4]
    rows = [record(status=6, status_at=day), record(status=4, status_at=day)]
    assert await upsert(session_factory, *rows) == IngestResult(0, 0, 1, 0, 0)
    assert (await statuses(session_factory))[0] is Status.PROCESSING
    assert await pushed(session_factory, dossier_id) == [4]


async def test_a_final_status_is_not_replaced_by_a_non_final_one_of_the_same_time(
    session_factory,
) -> None:
    day = "19/03/2026"
    await upsert(session_factory, record(status=10, status_at=day))
    dossier_id = await follow(session_factory)
    resent = record(status=9, status_at=day)
    assert await upsert(session_factory, resent) == IngestResult(0, 0, 1, 1, 0)  # history only
    assert await upsert(session_factory, resent) == IngestResult(0, 0, 1, 0, 0)
    assert await statuses(session_factory) == (
        Status.RETURNED,
        [Status.RETURNED, Status.PROCESSED],  # same time: in the order stored
    )
    assert await pushed(session_factory, dossier_id) == []
    assert await outbox(session_factory) == []

    for number, final in enumerate((3, 7, 8), start=43):
        code = f"000.00.17.H12-260315-00{number}"
        await upsert(session_factory, record(receipt_code=code, status=final, status_at=day))
        final_id = await follow_code(session_factory, code)
        later = record(receipt_code=code, status=4, status_at=day)
        assert await upsert(session_factory, later) == IngestResult(0, 0, 1, 1, 0)
        assert await upsert(session_factory, later) == IngestResult(0, 0, 1, 0, 0)
        assert await status_of(session_factory, code) == (
            Status(final),
            [Status(final), Status.PROCESSING],
        )
        assert await pushed(session_factory, final_id) == []
        # in one chunk too, on a new dossier
        fresh = f"000.00.17.H12-260315-00{number + 10}"
        rows = [
            record(receipt_code=fresh, status=final, status_at=day),
            record(receipt_code=fresh, status=4, status_at=day),
        ]
        assert await upsert(session_factory, *rows) == IngestResult(1, 0, 0, 2, 0)
        assert (await status_of(session_factory, fresh))[0] is Status(final)
    assert await outbox(session_factory) == []

    # no ranking beyond that guard: a final status of the same time, later in the file, wins
    code = "000.00.17.H12-260315-0060"
    await upsert(session_factory, record(receipt_code=code, status=10, status_at=day))
    await upsert(session_factory, record(receipt_code=code, status=8, status_at=day))
    assert (await status_of(session_factory, code))[0] is Status.STOPPED


async def test_an_agency_cannot_write_another_agencys_dossier(session_factory) -> None:
    await upsert(session_factory, record())
    intruder = record(agency="UBND Quận 3", status=8, status_at="2026-03-16")
    fresh = record(receipt_code="000.00.17.H12-260315-0050", agency="UBND Quận 3")
    with pytest.raises(ForeignDossierError) as caught:
        await upsert(session_factory, fresh, intruder, agency="UBND Quận 3")
    assert caught.value.lookup_keys == [KEY]
    assert await counts(session_factory) == (1, 1, 0, 0)  # nothing written, not even `fresh`
    # the owner (any spelling of its name) may
    assert (await upsert(session_factory, record(status=4), agency="ubnd  quận 1")).updated == 1


async def test_dossiers_are_chunked_past_the_parameter_limits(session_factory) -> None:
    many = [
        record(receipt_code=f"000.00.17.H12-260315-{n:05d}", status=2 + n % 3) for n in range(6000)
    ]
    assert await upsert(session_factory, *many) == IngestResult(6000, 0, 0, 6000)
    assert await upsert(session_factory, *many) == IngestResult(0, 0, 6000, 0)


# --- API keys ----------------------------------------------------------------------------------


async def test_api_keys_create_authenticate_list_revoke(session_factory) -> None:
    async with session_factory() as session:
        keys = ApiKeyRepository(session)
        info, plaintext = await keys.create("UBND  Quận 1", "iGate")
        await session.commit()
        assert plaintext.startswith("vnd_") and len(plaintext) > 40
        assert info.prefix == plaintext[:12] and info.agency == "UBND Quận 1"
        stored = await session.scalar(select(ApiKey.key_hash).where(ApiKey.id == info.id))
        assert stored is not None and plaintext not in stored and len(stored) == 64

        found = await keys.authenticate(plaintext, "dossiers")
        assert found is not None and found.id == info.id and found.agency == "UBND Quận 1"
        assert await keys.authenticate(plaintext, "admin") is None
        assert await keys.authenticate(plaintext[:-1] + "x", "dossiers") is None
        assert await keys.authenticate("Bearer " + plaintext, "dossiers") is None
        await session.commit()

        used = (await keys.list())[0].last_used_at
        assert used is not None
        await keys.authenticate(plaintext, "dossiers")  # within a minute: not written again
        await session.commit()
        assert (await keys.list())[0].last_used_at == used
        await session.execute(
            update(ApiKey).values(last_used_at=datetime.now(UTC) - timedelta(minutes=5))
        )
        await keys.authenticate(plaintext, "dossiers")
        await session.commit()
        assert (await keys.list())[0].last_used_at > used  # type: ignore[operator]

        second, _ = await keys.create("Sở Y tế")
        await session.commit()
        assert [k.agency for k in await keys.list()] == ["UBND Quận 1", "Sở Y tế"]
        with pytest.raises(ValueError, match="matches 2 keys"):
            await keys.revoke("vnd_")
        revoked = await keys.revoke(info.prefix[4:])  # without "vnd_"
        await session.commit()
        assert revoked is not None and revoked.id == info.id and revoked.revoked_at is not None
        assert await keys.authenticate(plaintext, "dossiers") is None
        assert await keys.revoke(info.prefix) is None  # already revoked
        assert (await keys.revoke(str(second.id))) is not None
        assert all(not k.active for k in await keys.list())


@pytest.mark.parametrize("parallel", [False, True], ids=["in-process", "parser-process"])
async def test_file_import_stores_what_upsert_many_stores(
    session_factory, tmp_path: Path, parallel: bool
) -> None:
    """``import_dossiers`` (rows prepared for the driver, in a parser process or not) writes
    the same dossiers, history and apologies as ``upsert_many`` on the parsed records; the
    re-import changes nothing; a later file updates and adds history."""
    import io

    from bot.cli.dossier_import import import_dossiers

    header = "dossierNo,agencyName,status,acceptedDate,status_at,new_appointment_at,delay_reason"
    lines = [
        header,
        "000.00.17.H12-260315-0001,UBND Quận 1,2,15/03/2026 08:30,,,",
        "000.00.17.H12-260315-0002,UBND Quận 1,4,15/03/2026 09:00,16/03/2026 10:15:30,"
        "25/03/2026,Chờ xác minh",
        "000.00.17.H12-260315-0003,UBND Quận 1,không rõ,,,,",  # rejected: line 4
        "000.00.17.H12-260315-0001,UBND Quận 1,4,,2026-03-16T02:00:00Z,,",  # same dossier again
    ]
    path = tmp_path / "export.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    errors = io.StringIO()
    summary = await import_dossiers(session_factory, path, errors=errors, parallel=parallel)
    assert errors.getvalue() == "line 4: unknown status: 'không rõ'\n"
    assert (summary.read, summary.rejected, summary.inserted, summary.events_added) == (4, 1, 2, 3)
    assert await counts(session_factory) == (2, 3, 1, 0)

    async with session_factory() as session:
        repo = DossierRepository(session)
        one = await repo.find("0000017H122603150001")
        two = await repo.find("0000017H122603150002")
    assert one is not None and two is not None
    assert one.status == Status.PROCESSING and one.source == "file:export.csv"
    assert one.received_at == datetime(2026, 3, 15, 1, 30, tzinfo=UTC)
    assert one.status_at == datetime(2026, 3, 16, 2, 0, tzinfo=UTC)
    assert [e.status for e in one.events] == [Status.ACCEPTED, Status.PROCESSING]
    assert two.status_at == datetime(2026, 3, 16, 3, 15, 30, tzinfo=UTC)
    assert two.apologies == (
        DossierApologyView(datetime(2026, 3, 24, 17, 0, tzinfo=UTC), "Chờ xác minh"),
    )

    again = await import_dossiers(session_factory, path, errors=io.StringIO(), parallel=parallel)
    assert (again.inserted, again.updated, again.unchanged, again.events_added) == (0, 0, 2, 0)
    assert await counts(session_factory) == (2, 3, 1, 0)

    later = tmp_path / "later.csv"
    later.write_text(
        header + "\n000.00.17.H12-260315-0002,UBND Quận 1,10,,17/03/2026 16:00,,\n",
        encoding="utf-8",
    )
    update_summary = await import_dossiers(session_factory, later, parallel=parallel)
    assert (update_summary.inserted, update_summary.updated, update_summary.events_added) == (
        0, 1, 1,
    )  # fmt: skip
    async with session_factory() as session:
        two = await DossierRepository(session).find("0000017H122603150002")
    assert two is not None and two.status == Status.RETURNED
    assert two.source == "file:later.csv"
