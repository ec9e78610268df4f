"""Posts and services: mirrored from config.yaml so that rows can reference them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlmodel import Field, SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession


class Post(SQLModel, table=True):
    """A border post."""

    __tablename__ = "posts"

    code: str = Field(primary_key=True, max_length=24)
    name: str = Field(max_length=120)
    country: str = Field(max_length=2)
    timezone: str = Field(max_length=64)
    language: str = Field(max_length=5)
    active: bool = True


class Service(SQLModel, table=True):
    """An agency that works at posts (Customs, Police...)."""

    __tablename__ = "services"

    code: str = Field(primary_key=True, max_length=24)
    name_fr: str = Field(max_length=120)
    name_en: str = Field(max_length=120)
    active: bool = True


class _Names(Protocol):
    @property
    def fr(self) -> str: ...

    @property
    def en(self) -> str: ...


class _PostSpec(Protocol):
    @property
    def code(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def country(self) -> str: ...

    @property
    def timezone(self) -> str: ...

    @property
    def language(self) -> str: ...


class _ServiceSpec(Protocol):
    @property
    def code(self) -> str: ...

    @property
    def name(self) -> _Names: ...


class PostsAndServices(Protocol):
    """What the mirror needs from the configuration (db/ does not import the bot's config objects)."""

    @property
    def posts(self) -> Sequence[_PostSpec]: ...

    @property
    def services(self) -> Sequence[_ServiceSpec]: ...


async def sync_posts_and_services(session: AsyncSession, *, config: PostsAndServices) -> None:
    """Upsert posts and services from config; ones no longer listed are marked inactive, never deleted."""
    posts = {p.code: p for p in (await session.exec(select(Post))).all()}
    for post in config.posts:
        row = posts.pop(post.code, None) or Post(
            code=post.code,
            name=post.name,
            country=post.country,
            timezone=post.timezone,
            language=post.language,
        )
        row.name, row.country, row.timezone, row.language, row.active = (
            post.name,
            post.country,
            post.timezone,
            post.language,
            True,
        )
        session.add(row)
    for stale in posts.values():
        stale.active = False
        session.add(stale)
    services = {s.code: s for s in (await session.exec(select(Service))).all()}
    for service in config.services:
        service_row = services.pop(service.code, None) or Service(
            code=service.code, name_fr=service.name.fr, name_en=service.name.en
        )
        service_row.name_fr, service_row.name_en, service_row.active = service.name.fr, service.name.en, True
        session.add(service_row)
    for stale_service in services.values():
        stale_service.active = False
        session.add(stale_service)
    await session.flush()
