"""Open311 GeoReport v2 at ``/open311/v2/``: other systems file petitions and follow them.

The civic-reporting API that FixMyStreet and many city systems speak
(https://wiki.open311.org/GeoReport_v2). JSON everywhere; ``.xml`` gives the same documents in
the spec's XML shape. Texts (service names, notices, error descriptions) are Vietnamese, or
English with ``?locale=en``.

- ``GET services.json``: the petition categories. One service per sector (lĩnh vực) of the
  catalog and per sector an agency answers for (``service_code`` a stable slug of the sector,
  ``group`` its ministry or agency), plus ``dich-vu-mot-cua`` (service at a public service
  centre) and ``quy-dinh-khac`` (any other regulation). Every service has one optional
  attribute, ``procedure_code``, hence ``metadata: true`` (the spec ties ``metadata`` to
  attributes); ``type`` is ``realtime``.
- ``GET services/{code}.json``: the service definition (its attributes).
- ``POST requests.json``: file a petition. Form-encoded as the spec says, or a JSON object.
  ``api_key`` (form field, query parameter or ``Authorization: Bearer``) of scope ``open311``
  (``python -m bot api-keys create AGENCY --scopes open311``): 401 without one, 403 when it is
  unknown, revoked or of another scope. Fields ``service_code``, ``description``,
  ``first_name`` + ``last_name`` (joined in that order, as clients split a full name; or a
  non-standard ``name``), ``email``, ``phone``, ``address_string`` (the sender's address),
  ``lat``/``long``, ``media_url``, ``attribute[procedure_code]``. The petition rules of
  ``knowledge.petitions`` apply (Vietnamese content, full name, address, a phone or an e-mail);
  complaints, denunciations and legal-advice requests are refused with a description of where
  they belong. An ``Idempotency-Key`` header makes a retry return the first answer (keyed with
  the API key; reused for another petition: 409). Answer: ``[{"service_request_id":
  "PAKN-2026-000123", "service_notice": ..., "account_id": null}]``.
- ``GET requests.json``: filters ``service_request_id`` (comma list; the other filters are then
  ignored), ``service_code``, ``start_date``/``end_date`` (ISO 8601; naive times are
  Asia/Ho_Chi_Minh, a bare end date includes its day), ``status`` (open, closed or both); by
  default the last 90 days; at most 1,000 requests, newest first.
- ``GET requests/{id}.json``: one petition by its tracking code (404 when unknown).

No personal data leaves through GET: ``description`` is the published (redacted) text, and
empty for a petition not yet published (no official has reviewed it); ``status_notes`` is the published answer or the (redacted)
refusal reason; the address is left out altogether (it is the sender's home address, and no
safe way to keep only the ward was found in free text); ``lat``/``long`` are rounded to two
decimals (about 1 km); ``media_url`` is the link the filing system itself gave.

Errors are JSON lists ``[{"code": 400, "description": "..."}]`` (XML ``<errors>`` for ``.xml``)
with 400/401/403/404/409/413/415/429. GET answers carry ``Access-Control-Allow-Origin: *``.
Rate limits per address (GET and POST apart) and per API key, like the dossier API.
"""
