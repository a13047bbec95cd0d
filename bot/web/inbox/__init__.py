"""The officials' petition inbox: a small web page on the bot's aiohttp server.

Routes (all under ``/inbox``; HTML forms, no script):

- ``GET /inbox/login?token=...`` -- the one-time link the bot sends in the chat (``/inbox``
  command). It only shows a confirmation page with a "Sign in" button: link scanners and chat
  previews that fetch the URL do not use the link up. ``POST /inbox/login`` redeems it, opens a
  session (an HttpOnly, SameSite=Strict cookie; Secure when the public base URL is https),
  audits "login" and redirects to ``/inbox``. An unknown, used or expired link gets a page telling
  the official to send ``/inbox`` to the bot again.
- ``GET /inbox`` -- the agency's petitions: filters (``status``, ``q``, ``from``, ``to``,
  ``due``), ``page``; ``GET /inbox/export.csv`` with the same filters (UTF-8 with BOM for Excel;
  cells that a spreadsheet would run as a formula are prefixed with ``'``; audited "export").
- ``GET /inbox/p/{tracking code}`` -- one petition with the sender's personal data (own agency
  only: another agency's petition is a 404), attachments, history; audited "view".
  ``POST /inbox/p/{code}/{take|info|answer|refuse|publish}`` -- the actions, through
  ``PetitionRepository`` (event + audit + the citizen's message in one transaction), then the
  outbox worker is woken.
- ``POST /inbox/logout``; ``GET /inbox/static/inbox.css``.

Every request re-checks the session (an expired session or a deactivated official is signed
out). Every POST must carry the session's CSRF token (an HMAC of the session cookie, so nothing
extra is stored) and come from this origin (Origin, else Referer, else Sec-Fetch-Site). Pages
carry a strict CSP, ``X-Frame-Options: DENY``, ``Referrer-Policy: no-referrer`` (the sign-in
token is in the link's URL) and ``Cache-Control: no-store`` (personal data). Texts come from
``handlers.officials.inbox_texts`` (Vietnamese; English with ``?lang=en``, remembered in a
cookie); the pages are the autoescaped templates of ``bot/web/templates/inbox/``.

Modules: ``context`` (settings, the view, the route wrapper), ``csrf``, ``auth`` (sign-in,
sessions), ``filters``, ``views`` (the list, one petition), ``actions``, ``export`` (CSV) and
``routes`` (``setup_inbox``).
"""
