"""The transactional outbox: every notification is a row written with the event that caused it.

Features import from here (the table and the enqueue API); the delivery worker uses `db.outbox.queue`,
`/delivery` reads `db.outbox.reporting`.
"""

from db.outbox.enqueue import (
    ReplyMarkup,
    SupportsToDict,
    append_to_pending_note,
    build_card_edit,
    build_message,
    build_pin,
    enqueue_card_edit,
    enqueue_card_edits,
    enqueue_many,
    enqueue_message,
)
from db.outbox.model import (
    CAPTION_METHODS,
    CARD_ACTIONS,
    DUE_AT_ONCE,
    EDIT_METHODS,
    ERROR_MAX,
    OUTBOX,
    OUTBOX_WAKE,
    PIN_METHODS,
    SEND_METHODS,
    UPLOAD_DATA,
    UPLOAD_NAME,
    DeliveryState,
    Notification,
    Priority,
    QueuedMessage,
)

__all__ = [
    "CAPTION_METHODS",
    "CARD_ACTIONS",
    "DUE_AT_ONCE",
    "EDIT_METHODS",
    "ERROR_MAX",
    "OUTBOX",
    "OUTBOX_WAKE",
    "PIN_METHODS",
    "SEND_METHODS",
    "UPLOAD_DATA",
    "UPLOAD_NAME",
    "DeliveryState",
    "Notification",
    "Priority",
    "QueuedMessage",
    "ReplyMarkup",
    "SupportsToDict",
    "append_to_pending_note",
    "build_card_edit",
    "build_message",
    "build_pin",
    "enqueue_card_edit",
    "enqueue_card_edits",
    "enqueue_many",
    "enqueue_message",
]
