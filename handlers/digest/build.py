"""The figures of one agency's digest, assembled from the queries of ``storage.repositories.digest``.

``build_digest`` only reads: the scheduler (``bot.jobs.digest``), the command line (``python -m
bot digest``) and ``benchmarks/digest_bench.py`` call it per agency. The petitions' figures come
from the agency's petitions; the dossiers' figures and ratings, when the agency has a
``dossier_agency``, from the dossiers recorded under that exact name.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.digest import (
    LIST_LIMIT,
    MISSES_DAYS,
    MISSES_LIMIT,
    Digest,
    DossierFigures,
    MissItem,
    Periods,
    PetitionFigures,
    Satisfaction,
    TrendDay,
    digest_periods,
    sum_days,
    sum_satisfaction,
)
from knowledge.workdays import is_working_day
from storage.records import AgencyRecord
from storage.repositories.digest import DigestRepository
from storage.repositories.search_misses import SearchMissRepository


async def _petition_figures(
    session: AsyncSession,
    agency_id: int,
    periods: Periods,
    now: datetime,
    list_limit: int,
) -> tuple[PetitionFigures, dict[date, int]]:
    """The petitions' figures, and the petitions received per day (for the trend)."""
    queries = DigestRepository(session)
    by_day = await queries.petitions_by_day(agency_id, periods.first, periods.end)
    new_items = await queries.new_petitions(agency_id, periods.start, periods.end, list_limit)
    overdue, due_soon, deadline_items = await queries.petition_deadlines(agency_id, now, list_limit)
    awaiting, pub_overdue, pub_soon, pub_items = await queries.awaiting_publication(
        agency_id, now, list_limit
    )
    figures = PetitionFigures(
        new=sum(n for d, n in by_day.items() if periods.start <= d <= periods.end),
        new_items=tuple(new_items),
        month=sum(n for d, n in by_day.items() if periods.month_start <= d <= periods.end),
        open=await queries.open_petitions(agency_id),
        deadline_overdue=overdue,
        deadline_due_soon=due_soon,
        deadline_items=tuple(deadline_items),
        awaiting_publication=awaiting,
        publication_overdue=pub_overdue,
        publication_due_soon=pub_soon,
        publication_items=tuple(pub_items),
    )
    return figures, by_day


async def _dossier_days(
    session: AsyncSession, dossier_agency: str | None, periods: Periods, now: datetime
) -> tuple[dict[date, DossierFigures], dict[date, Satisfaction]]:
    """The dossiers' figures and ratings per day (none without a ``dossier_agency``)."""
    if not dossier_agency:
        return {}, {}
    queries = DigestRepository(session)
    # One pass over every day any figure needs (at most about 45), summed per period.
    dossiers = await queries.dossier_figures_by_day(dossier_agency, periods.first, periods.end, now)
    ratings = await queries.satisfaction_by_day(
        dossier_agency, min(periods.start, periods.month_start), periods.end
    )
    return dossiers, ratings


async def unanswered_questions(session: AsyncSession, now: datetime) -> tuple[MissItem, ...]:
    """The citizens' questions most asked in the last ``MISSES_DAYS`` days that the search did
    not answer well and no official has mapped yet (the same for every agency)."""
    groups = await SearchMissRepository(session).top(
        now - timedelta(days=MISSES_DAYS), MISSES_LIMIT
    )
    return tuple(MissItem(g.text, g.count) for g in groups)


async def build_digest(
    session: AsyncSession,
    agency: AgencyRecord,
    day: date,
    now: datetime,
    *,
    list_limit: int = LIST_LIMIT,
    misses_url: str = "",
) -> Digest:
    """The digest of ``agency`` for local date ``day``, from the records as they stand at
    ``now`` (what the scheduler calls per agency; reads only). ``misses_url`` is the inbox page
    of the unanswered questions the digest links to."""
    periods = digest_periods(day)
    petitions, by_day = await _petition_figures(session, agency.id, periods, now, list_limit)
    dossiers, ratings = await _dossier_days(session, agency.dossier_agency, periods, now)
    empty = DossierFigures()
    trend = tuple(
        TrendDay(
            day=d,
            dossiers_received=dossiers.get(d, empty).received,
            dossiers_resolved=dossiers.get(d, empty).resolved,
            petitions_received=by_day.get(d, 0),
            working_day=is_working_day(d),
        )
        for d in periods.trend_days()
    )
    has_dossiers = bool(agency.dossier_agency)
    return Digest(
        agency_id=agency.id,
        agency_code=agency.code,
        agency_name=agency.name,
        periods=periods,
        built_at=now,
        petitions=petitions,
        dossiers_period=sum_days(dossiers, periods.start, periods.end) if has_dossiers else None,
        dossiers_month=sum_days(dossiers, periods.month_start, periods.end)
        if has_dossiers
        else None,
        satisfaction_period=sum_satisfaction(ratings, periods.start, periods.end),
        satisfaction_month=sum_satisfaction(ratings, periods.month_start, periods.end),
        trend=trend,
        misses=await unanswered_questions(session, now),
        misses_url=misses_url,
    )
