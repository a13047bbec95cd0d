"""Background work of the running assistant: the outbox worker and the schedulers."""
