"""The Zalo Official Account channel, running the same dialogs as Telegram and the web chat.

``webhook`` verifies and de-duplicates Zalo's events and runs each user's in order; ``events``
reads them; ``channel`` turns them into aiogram Updates; ``session`` carries out the dialogs'
Bot API calls with the OA's message API (``api``; ``render`` makes the texts and buttons);
``tokens`` keeps the access token fresh, spending each single-use refresh token once across
processes; ``window`` is Zalo's reply window, which the outbox respects.
"""
