"""The kinds of outbox messages: each names the renderer that turns a stored row into a message.

The values are what the ``outbox.kind`` column holds (and what some de-duplication keys start
with), so they never change; a new kind is a new member with its renderer registered in the
composition root.
"""

from __future__ import annotations

from enum import StrEnum


class OutboxKind(StrEnum):
    """What an outbox row is: the renderer registered for it renders it at send time."""

    TEXT = "text"  # built into the worker: the payload's HTML sent verbatim
    DOSSIER_STATUS = "dossier_status"  # a followed dossier changed status
    DOSSIER_RATING = "dossier_rating"  # a followed dossier was returned: rate the service
    DOSSIER_APOLOGY = "dossier_apology"  # a followed dossier's appointment was postponed
    PETITION_NEW = "petition_new"  # to an official: new, re-routed, or the citizen replied
    PETITION_UPDATE = "petition_update"  # to the citizen: each step of their petition
    DIGEST = "digest"  # to an official: the agency's daily digest (text and chart)
