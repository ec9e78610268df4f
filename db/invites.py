"""Invites: unguessable, expiring, single-use codes that make a person a member."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.types import utc_column

# Deep-link payloads allow 64 characters of A-Z a-z 0-9 _ -; 18 random bytes give 24 such characters.
CODE_BYTES = 18
CODE_PATTERN = r"^[A-Za-z0-9_-]{16,64}$"


class Invite(SQLModel, table=True):
    """An invitation to join a post with a service and a role. Only the code's hash is stored."""

    __tablename__ = "invites"

    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(max_length=64, unique=True)
    post_code: str | None = Field(default=None, foreign_key="posts.code")
    service_code: str | None = Field(default=None, foreign_key="services.code")
    role: str = Field(max_length=16)
    created_by: int | None = Field(default=None, foreign_key="members.id")
    created_at: datetime = Field(sa_column=utc_column())
    expires_at: datetime = Field(sa_column=utc_column())
    max_uses: int = 1
    uses: int = 0
    revoked_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    # What asked for it (a button press): the same press handled twice never makes a second invite.
    request_key: str | None = Field(default=None, max_length=64, unique=True)


def hash_code(code: str) -> str:
    """The stored form of an invite code: a leaked database does not leak usable codes."""
    return hashlib.sha256(code.encode()).hexdigest()


def new_code() -> str:
    """A fresh unguessable code (144 bits)."""
    return secrets.token_urlsafe(CODE_BYTES)


async def create_invite(
    session: AsyncSession,
    *,
    role: str,
    post_code: str | None,
    service_code: str | None,
    created_by: int | None,
    now: datetime,
    expires_at: datetime,
    max_uses: int = 1,
    request_key: str | None = None,
) -> tuple[Invite, str]:
    """Create an invite; returns the row and the clear code (shown once, never stored)."""
    code = new_code()
    invite = Invite(
        code_hash=hash_code(code),
        post_code=post_code,
        service_code=service_code,
        role=role,
        created_by=created_by,
        created_at=now,
        expires_at=expires_at,
        max_uses=max_uses,
        request_key=request_key,
    )
    session.add(invite)
    await session.flush()
    return invite, code


async def get_invite(session: AsyncSession, *, invite_id: int) -> Invite | None:
    """The invite with this id, whatever its state."""
    return await session.get(Invite, invite_id)


async def find_invite(session: AsyncSession, *, code: str) -> Invite | None:
    """The invite for a clear code, whatever its state."""
    return (await session.exec(select(Invite).where(Invite.code_hash == hash_code(code)))).first()


async def find_requested_invite(session: AsyncSession, *, request_key: str) -> Invite | None:
    """The invite a request (a button press) already created, if any."""
    return (await session.exec(select(Invite).where(Invite.request_key == request_key))).first()


async def claim_invite(session: AsyncSession, *, invite_id: int, now: datetime) -> bool:
    """Use one of the invite's uses; one atomic UPDATE so two people cannot share a single-use code."""
    result = await session.exec(
        update(Invite)
        .where(
            col(Invite.id) == invite_id,
            col(Invite.uses) < col(Invite.max_uses),
            col(Invite.expires_at) > now,
            col(Invite.revoked_at).is_(None),
        )
        .values(uses=col(Invite.uses) + 1)
    )
    return result.rowcount == 1


async def revoke_invite(session: AsyncSession, *, invite_id: int, now: datetime) -> bool:
    """Revoke an invite before it is used; False when already revoked."""
    result = await session.exec(
        update(Invite)
        .where(col(Invite.id) == invite_id, col(Invite.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    return result.rowcount == 1
