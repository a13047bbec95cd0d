"""The Zalo Official Account channel: ``api`` calls the OA's HTTP API (messages, image uploads,
ZNS) and turns Zalo's error codes into exceptions a sender can act on; ``tokens`` keeps the OA's
access token fresh and spends each single-use refresh token once, across processes."""
