"""The assistant's HTTP apps next to the chat: the officials' inbox, Open311, the public page of
published answers and the dossier API, on the plumbing they share (``bot.web.plumbing``)."""
