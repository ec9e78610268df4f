"""The delivery engine: the outbox worker that sends queued notifications within Telegram's limits."""
