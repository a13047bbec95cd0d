"""The web chat channel: a browser page that talks to the same aiogram dialogs as Telegram.

``input`` checks what the browser sends, ``hub`` keeps the visitors, ``session`` answers the Bot
API methods as events for the page, ``channel`` feeds Updates to the dispatcher and ``routes``
serves the page and its JSON API."""
