"""Tools the test layers share: the stand-in Bot API server, a recording bot session, a chat
client that insists every update is handled (and the same check for the web chat), throw-away
databases and the headless browser."""
