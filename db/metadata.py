"""Every table, imported once so that SQLModel.metadata (and Alembic) sees them all."""

from sqlmodel import SQLModel

import db.audit
import db.invites
import db.members
import db.outbox
import db.posts  # noqa: F401 - imported for their tables

metadata = SQLModel.metadata
