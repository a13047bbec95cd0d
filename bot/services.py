"""What every part of the running assistant starts from: the database and the search index.

``create_services`` brings the schema up to date, opens the engine, builds the index (the
shipped catalog, or CATALOG_PATH, overlaid by the procedures imported into the database, then
taught the phrasings officials mapped from the inbox) and finds the web chat's visitor secret. The web app (``bot.app``) and the commands that need the
index (``python -m bot search``) use it; it imports no web app, channel or job.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from handlers.procedures.learning import settle_pending
from knowledge.catalog import load_compact, load_default_catalog, merge_catalogs
from knowledge.phrasings import apply_learned, load_default_phrasings
from knowledge.search import SearchIndex
from knowledge.vocabulary import TextVocabulary, load_default_vocabulary
from storage.db import create_engine, create_session_factory
from storage.migrate import upgrade
from storage.repositories.app_secrets import SecretRepository
from storage.repositories.procedures import ProcedureRepository
from storage.repositories.search_misses import LearnedPhrasingRepository

logger = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    index: SearchIndex
    web_secret: bytes  # keys web chat visitor ids: WEB_SECRET, else one kept in the database

    async def close(self) -> None:
        await settle_pending()  # search-miss counts still being written in the background
        await self.engine.dispose()


async def build_index(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> SearchIndex:
    """The shipped catalog (or CATALOG_PATH), overlaid by the procedures imported into the DB."""
    if settings.catalog_path is not None:
        base = load_compact(settings.catalog_path)
        vocabulary = None  # computed from the catalog itself
    else:
        base = load_default_catalog()
        vocabulary = load_default_vocabulary()
    async with session_factory() as session:
        imported = await ProcedureRepository(session).list_all()
    merged = merge_catalogs(base, imported)
    if vocabulary is not None and imported:
        vocabulary = vocabulary.merge(TextVocabulary.from_procedures(imported))
    # citizen phrasings (knowledge/data/phrasings.txt) act as extra names of their procedures
    phrasings = load_default_phrasings()
    index = await asyncio.to_thread(SearchIndex.build, merged, None, vocabulary, phrasings)
    logger.info("Catalog: %d procedures (%d imported)", len(index), len(imported))
    await apply_learned_phrasings(index, session_factory)
    return index


async def apply_learned_phrasings(
    index: SearchIndex, session_factory: async_sessionmaker[AsyncSession]
) -> int:
    """Teach the index again every phrasing officials mapped (oldest first); how many it took.
    A phrasing whose procedure left the catalog is skipped."""
    async with session_factory() as session:
        phrasings = await LearnedPhrasingRepository(session).all()
    taken = 0
    for phrasing in phrasings:
        if index.get(phrasing.code) is None:
            continue
        try:
            taken += apply_learned(index, phrasing.code, phrasing.text)
        except Exception:  # one bad phrasing must not keep the assistant from starting
            logger.exception("Learned phrasing %d could not be applied", phrasing.id)
    if phrasings:
        logger.info("Learned phrasings: %d of %d applied", taken, len(phrasings))
    return taken


async def create_services(settings: Settings) -> Services:
    await upgrade(settings.database_url)
    engine = create_engine(settings.database_url)
    session_factory = create_session_factory(engine)
    index = await build_index(settings, session_factory)
    if settings.web_secret is not None:
        web_secret = settings.web_secret.get_secret_value().encode()
    else:
        async with session_factory() as session:
            web_secret = (await SecretRepository(session).get_or_create("webchat_visitor")).encode()
    return Services(settings, engine, session_factory, index, web_secret)
