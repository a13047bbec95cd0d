"""Command-line administration of petitions: agencies, officials, re-routing.

    python -m bot agencies add CODE NAME [--sector S ...] [--procedure CODE ...]
                                         [--dossier-agency NAME] [--default]
    python -m bot agencies list
    python -m bot officials invite --agency CODE --role admin|officer [--days 7]
    python -m bot officials list [--agency CODE]
    python -m bot officials remove ID
    python -m bot petitions reroute TRACKING_CODE AGENCY_CODE [--reason TEXT]

A province sets up its agencies and the first administrator of each from here; administrators
then invite their officers from the chat (``/invite``). Every change is audited with
``via="cli"``. Mistakes (an unknown agency, a bad role, a malformed code) are explained on
stderr with exit code 2, and nothing is written.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.database import open_database
from bot.config import Settings
from knowledge.dossier_records import agency_key
from knowledge.normalize import clean_text
from knowledge.petition_workflow import AuditAction, PetitionError
from storage.records import AgencyRecord
from storage.repositories.agencies import AgencyRepository
from storage.repositories.audit import AuditRepository
from storage.repositories.dossiers import DossierRepository
from storage.repositories.officials import OfficialRepository
from storage.repositories.petitions import PetitionRepository

AGENCY_CODE_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
PROCEDURE_CODE_RE = re.compile(r"\d\.\d{6}(?:\.[0-9A-Za-z]+)*")
NAME_MAX = 255
REASON_MAX = 1000
MAX_INVITATION_DAYS = 30


class CliError(Exception):
    """A mistake in the command's arguments: printed as ``error: ...``, exit code 2."""


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "-"


def _clean(text: str) -> str:
    return clean_text(text or "")


def _agency_code(raw: str) -> str:
    code = raw.strip().lower()
    if not AGENCY_CODE_RE.fullmatch(code):
        raise CliError(
            f"agency code {raw!r} is not valid: use 1-64 letters a-z, digits, '.', '_' or '-' "
            "(e.g. so-tu-phap)"
        )
    return code


async def _agency(session: AsyncSession, raw: str) -> AgencyRecord:
    code = _agency_code(raw)
    agency = await AgencyRepository(session).by_code(code)
    if agency is None:
        raise CliError(f"unknown agency {code!r} (see: python -m bot agencies list)")
    return agency


# --- agencies ------------------------------------------------------------------------------------


async def _agencies_add(session: AsyncSession, args: argparse.Namespace) -> int:
    code = _agency_code(args.code)
    name = _clean(args.name)
    if not name or len(name) > NAME_MAX:
        raise CliError(f"the agency name must be 1-{NAME_MAX} characters")
    sectors = [_clean(s) for s in args.sector or []]
    if any(not s or len(s) > NAME_MAX for s in sectors):
        raise CliError(f"each --sector must be 1-{NAME_MAX} characters")
    procedures = [p.strip() for p in args.procedure or []]
    bad = [p for p in procedures if not PROCEDURE_CODE_RE.fullmatch(p)]
    if bad:
        raise CliError(
            f"not a procedure code: {', '.join(repr(p) for p in bad)} (e.g. 1.001193 or "
            "1.012753.H19)"
        )
    dossier_agency = _clean(args.dossier_agency) if args.dossier_agency else None
    if dossier_agency is not None and len(dossier_agency) > NAME_MAX:
        raise CliError(f"--dossier-agency must be at most {NAME_MAX} characters")
    repo = AgencyRepository(session)
    existed = await repo.by_code(code) is not None
    agency = await repo.save(
        code,
        name,
        sectors=list(dict.fromkeys(sectors)),
        procedure_codes=list(dict.fromkeys(procedures)),
        dossier_agency=dossier_agency,
        is_default=args.default,
    )
    await AuditRepository(session).record(
        AuditAction.AGENCY_SAVE,
        actor="cli",
        via="cli",
        details={"agency_id": agency.id, "code": code, "created": not existed},
    )
    await session.commit()
    print(f"{'updated' if existed else 'created'} agency {code} (id {agency.id}): {name}")
    if dossier_agency is not None:
        await _report_dossier_agency(session, dossier_agency)
    return 0


async def _report_dossier_agency(session: AsyncSession, dossier_agency: str) -> None:
    """Digests count the dossiers whose ``agency`` is exactly this name: say how many do, and
    name the stored agency names that differ only in case or spacing (a likely typo)."""

    dossiers = DossierRepository(session)
    count = await dossiers.count_for_agency(dossier_agency)
    print(f"dossiers recorded under {dossier_agency!r}: {count:,}")
    if count:
        return
    wanted = agency_key(dossier_agency)
    names = await dossiers.agency_names()
    near = sorted(n for n in names if n != dossier_agency and agency_key(n) == wanted)
    if near:
        print(
            "warning: digests count only that exact name; dossiers are recorded as "
            + ", ".join(repr(n) for n in near[:5]),
            file=sys.stderr,
        )


async def _agencies_list(session: AsyncSession, args: argparse.Namespace) -> int:
    agencies = await AgencyRepository(session).list()
    if not agencies:
        print("no agencies yet (python -m bot agencies add CODE NAME ...)")
        return 0
    officials = await OfficialRepository(session).count_active_officials()
    for agency in agencies:
        flag = " [default]" if agency.is_default else ""
        print(f"{agency.code:<24} {agency.name}{flag}")
        print(f"{'':<24} officials: {officials.get(agency.id, 0)}")
        if agency.sectors:
            print(f"{'':<24} sectors: {', '.join(agency.sectors)}")
        if agency.procedure_codes:
            print(f"{'':<24} procedures: {', '.join(agency.procedure_codes)}")
        if agency.dossier_agency:
            print(f"{'':<24} dossiers as: {agency.dossier_agency}")
    return 0


# --- officials -----------------------------------------------------------------------------------


async def _officials_invite(session: AsyncSession, args: argparse.Namespace) -> int:
    if not 1 <= args.days <= MAX_INVITATION_DAYS:
        raise CliError(f"--days must be between 1 and {MAX_INVITATION_DAYS}")
    agency = await _agency(session, args.agency)
    code, invitation = await OfficialRepository(session).create_invitation(
        agency.id, args.role, ttl=timedelta(days=args.days), via="cli"
    )
    await session.commit()
    print(code)
    print(
        f"one-time code for a new {args.role} of {agency.code} ({agency.name}), valid until "
        f"{_when(invitation.expires_at)}. The official sends /official {code} to the bot in a "
        "private chat. It is shown only now.",
        file=sys.stderr,
    )
    return 0


async def _officials_list(session: AsyncSession, args: argparse.Namespace) -> int:
    agency_id = (await _agency(session, args.agency)).id if args.agency else None
    rows = await OfficialRepository(session).list_officials(agency_id)
    if not rows:
        print("no officials")
        return 0
    for official, agency_code in rows:
        state = "active" if official.active else "removed"
        print(
            f"{official.id:>5}  {agency_code:<20} {official.role:<8} {state:<8} "
            f"{official.channel}:{official.chat_id:<14} {_when(official.created_at):<21} "
            f"{official.display_name}"
        )
    return 0


async def _officials_remove(session: AsyncSession, args: argparse.Namespace) -> int:
    repo = OfficialRepository(session)
    official = await repo.get(args.id)
    if official is None:
        raise CliError(f"no official with id {args.id} (see: python -m bot officials list)")
    if not official.active:
        print(f"official {args.id} was already removed")
        return 0
    await repo.deactivate(args.id)
    await session.commit()
    print(
        f"removed official {args.id} ({official.display_name or official.chat_id}); "
        "their chat no longer has access"
    )
    return 0


# --- petitions -----------------------------------------------------------------------------------


async def _petitions_reroute(session: AsyncSession, args: argparse.Namespace) -> int:
    repo = PetitionRepository(session)
    petition = await repo.by_code(args.tracking_code)
    if petition is None:
        raise CliError(f"no petition has the tracking code {args.tracking_code!r}")
    agency = await _agency(session, args.agency)
    reason = _clean(args.reason or "") or None
    if reason is not None and len(reason) > REASON_MAX:
        raise CliError(f"--reason must be at most {REASON_MAX} characters")
    try:
        await repo.reroute(petition, None, agency, via="cli", reason=reason)
    except PetitionError as error:
        messages = {
            "wrong_status": f"{petition.tracking_code} is {petition.status}: only open "
            "petitions can be re-routed",
            "same_agency": f"{petition.tracking_code} is already with {agency.code}",
        }
        raise CliError(messages.get(error.code, error.code)) from None
    await session.commit()
    print(
        f"{petition.tracking_code} re-routed to {agency.code} ({agency.name}); its officials "
        "are notified"
    )
    return 0


ACTIONS = {
    ("agencies", "add"): _agencies_add,
    ("agencies", "list"): _agencies_list,
    ("officials", "invite"): _officials_invite,
    ("officials", "list"): _officials_list,
    ("officials", "remove"): _officials_remove,
    ("petitions", "reroute"): _petitions_reroute,
}


async def cmd_petition_admin(settings: Settings, args: argparse.Namespace) -> int:
    """Run ``agencies``, ``officials`` or ``petitions`` with their action."""
    action = ACTIONS.get((args.command, args.action))
    if action is None:
        names = sorted(a for c, a in ACTIONS if c == args.command)
        print(f"usage: python -m bot {args.command} {{{','.join(names)}}}", file=sys.stderr)
        return 2
    engine, session_factory = await open_database(settings)
    try:
        async with session_factory() as session:
            try:
                return await action(session, args)
            except CliError as error:
                await session.rollback()
                print(f"error: {error}", file=sys.stderr)
                return 2
    finally:
        await engine.dispose()
