"""Every table, imported once so that SQLModel.metadata (and Alembic) sees them all."""

from sqlmodel import SQLModel

import db.alerts
import db.audit
import db.drafts
import db.handovers
import db.inbox
import db.invites
import db.meetings
import db.members
import db.notices
import db.outbox
import db.posts
import db.review
import db.schedules  # noqa: F401 - imported for their tables

metadata = SQLModel.metadata
