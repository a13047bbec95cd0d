"""The start of every conversation: /start, /help, /language, the main menu, and the errors router."""
