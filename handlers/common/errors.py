"""One place that turns exceptions into friendly replies; the bot keeps serving."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.types import CallbackQuery, ErrorEvent, Message

from handlers.exceptions import DialogError, ProcedureNotFound, SuggestionExpired
from handlers.procedures.texts import procedure_not_found, suggestion_expired

from .texts import generic_error

logger = logging.getLogger(__name__)


def friendly_text(exception: BaseException) -> str:
    """The citizen-facing explanation of an exception (current locale)."""
    if isinstance(exception, ProcedureNotFound):
        return procedure_not_found()
    if isinstance(exception, SuggestionExpired):
        return suggestion_expired()
    return generic_error()


def _is_not_modified(exception: BaseException) -> bool:
    # Pressing the same page twice, or Telegram redelivering an update: nothing to fix.
    return (
        isinstance(exception, TelegramBadRequest) and "message is not modified" in exception.message
    )


async def _stop_spinner(callback: CallbackQuery) -> None:
    """Answer the pressed button's query; it may fail if the handler answered it already."""
    try:
        await callback.answer()
    except TelegramAPIError:
        logger.debug("Callback query %s was already answered", callback.id, exc_info=True)


async def _reply(event: ErrorEvent, text: str) -> None:
    update = event.update
    callback = update.callback_query
    message = update.message
    if callback is not None:
        await _stop_spinner(callback)
        message = callback.message if isinstance(callback.message, Message) else None
    if message is None:
        return
    try:
        await message.answer(text)
    except TelegramAPIError:
        # Telegram itself is failing: the error is already logged, and there is nobody to tell.
        logger.warning(
            "Could not send the error reply for update %s", update.update_id, exc_info=True
        )


async def on_error(event: ErrorEvent) -> bool:
    exception = event.exception
    if _is_not_modified(exception):
        if event.update.callback_query is not None:
            await _stop_spinner(event.update.callback_query)
        return True
    if isinstance(exception, DialogError):
        logger.info("Update %s: %s", event.update.update_id, exception)
    else:
        logger.error(
            "Update %s failed: %s",
            event.update.update_id,
            type(exception).__name__,
            exc_info=(type(exception), exception, exception.__traceback__),
        )
    await _reply(event, friendly_text(exception))
    return True


def create_router() -> Router:
    router = Router(name="errors")
    router.errors.register(on_error)
    return router
