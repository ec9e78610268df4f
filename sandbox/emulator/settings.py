"""Bot settings methods: webhook, commands, descriptions, menu button (stored for assertions)."""

from __future__ import annotations

import json
from typing import Any

from sandbox.emulator.errors import bad_request
from sandbox.emulator.webhook import WebhookDelivery


class SettingsMixin:
    """setMyCommands and friends for BotApiEmulator."""

    commands: dict[tuple[str, str], list[dict[str, Any]]]
    descriptions: dict[str, str]
    short_descriptions: dict[str, str]
    menu_buttons: dict[int | None, dict[str, Any]]
    webhook_url: str
    webhook: WebhookDelivery
    updates: list[dict[str, Any]]

    def get_commands(
        self, scope: dict[str, Any] | None = None, language_code: str = ""
    ) -> list[dict[str, Any]]:
        """Commands stored by setMyCommands for a scope and language, for assertions."""
        return self.commands.get((_scope_key(scope), language_code or ""), [])

    async def _delete_webhook(self, params: dict[str, Any]) -> Any:
        """deleteWebhook (optionally dropping pending updates)."""
        self.webhook_url = ""
        self.webhook.stop()
        if params.get("drop_pending_updates"):
            self.updates.clear()
        return True

    async def _set_webhook(self, params: dict[str, Any]) -> Any:
        """setWebhook: pending and new updates are POSTed to the URL (see webhook.py)."""
        if params.get("drop_pending_updates"):
            self.updates.clear()
        connections = params.get("max_connections")
        self.webhook.configure(
            params["url"], params.get("secret_token"), int(connections) if connections is not None else None
        )
        self.webhook_url = params["url"]
        return True

    async def _get_webhook_info(self, params: dict[str, Any]) -> Any:
        """getWebhookInfo."""
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self.updates),
            **self.webhook.info(),
        }

    async def _set_my_commands(self, params: dict[str, Any]) -> Any:
        """setMyCommands, stored per scope and language."""
        for command in params["commands"]:
            name = command["command"]
            if not (1 <= len(name) <= 32) or not all(c.islower() or c.isdigit() or c == "_" for c in name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(command["description"]) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        key = (_scope_key(params.get("scope")), params.get("language_code", ""))
        self.commands[key] = list(params["commands"])
        return True

    async def _get_my_commands(self, params: dict[str, Any]) -> Any:
        """getMyCommands for an exact scope and language."""
        return self.get_commands(params.get("scope"), params.get("language_code", ""))

    async def _delete_my_commands(self, params: dict[str, Any]) -> Any:
        """deleteMyCommands."""
        self.commands.pop((_scope_key(params.get("scope")), params.get("language_code", "")), None)
        return True

    async def _set_my_description(self, params: dict[str, Any]) -> Any:
        """setMyDescription per language."""
        if len(params.get("description", "")) > 512:
            raise bad_request("description is too long")
        self.descriptions[params.get("language_code", "")] = params.get("description", "")
        return True

    async def _get_my_description(self, params: dict[str, Any]) -> Any:
        """getMyDescription."""
        return {"description": self.descriptions.get(params.get("language_code", ""), "")}

    async def _set_my_short_description(self, params: dict[str, Any]) -> Any:
        """setMyShortDescription per language."""
        if len(params.get("short_description", "")) > 120:
            raise bad_request("short description is too long")
        self.short_descriptions[params.get("language_code", "")] = params.get("short_description", "")
        return True

    async def _get_my_short_description(self, params: dict[str, Any]) -> Any:
        """getMyShortDescription."""
        return {"short_description": self.short_descriptions.get(params.get("language_code", ""), "")}

    async def _set_chat_menu_button(self, params: dict[str, Any]) -> Any:
        """setChatMenuButton (default or per chat)."""
        self.menu_buttons[params.get("chat_id")] = params.get("menu_button") or {"type": "default"}
        return True

    async def _get_chat_menu_button(self, params: dict[str, Any]) -> Any:
        """getChatMenuButton."""
        return self.menu_buttons.get(params.get("chat_id"), {"type": "default"})


def _scope_key(scope: dict[str, Any] | None) -> str:
    """Canonical text of a BotCommandScope (default when absent)."""
    return json.dumps(scope or {"type": "default"}, sort_keys=True)
