"""Validate Bot API calls against the committed compact spec (types coerced like Telegram's server does)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from sandbox.emulator.errors import ApiError, bad_request

SPEC_PATH = Path(__file__).resolve().parent / "botapi_spec.json"
_INT_RE = re.compile(r"^[+-]?\d+$")
_FLOAT_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_ARRAY = "Array of "


@dataclass(frozen=True)
class UploadedFile:
    """A file part received in a multipart upload."""

    filename: str
    content: bytes
    mimetype: str = "application/octet-stream"


def resolve_attachments(params: dict[str, Any]) -> dict[str, Any]:
    """Replace ``attach://name`` references by their uploaded parts and drop the parts themselves."""
    attached = {k: v for k, v in params.items() if isinstance(v, UploadedFile) and k.startswith("attached")}
    if not attached:
        return params
    out = {k: v for k, v in params.items() if k not in attached}
    for key, value in out.items():
        if isinstance(value, str) and value.startswith("attach://") and value[9:] in attached:
            out[key] = attached[value[9:]]
    return out


@cache
def load_spec() -> dict[str, Any]:
    """Load the spec once per process."""
    spec: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    return spec


@cache
def _method_index() -> dict[str, str]:
    """Lower-cased method name -> canonical name (Telegram matches method names case-insensitively)."""
    return {name.lower(): name for name in load_spec()["methods"]}


def canonical_method(method: str) -> str | None:
    """Return the spec spelling of ``method`` or None when the method does not exist."""
    return _method_index().get(method.lower())


class _TypeMismatch(Exception):
    """Internal: a value does not match a spec type; carries a path for the error text."""

    def __init__(self, path: str, detail: str) -> None:
        super().__init__(f"{path}: {detail}")
        self.path = path
        self.detail = detail


def _check(value: Any, type_name: str, path: str) -> Any:
    """Return ``value`` normalised for ``type_name`` or raise _TypeMismatch."""
    if type_name.startswith(_ARRAY):
        if not isinstance(value, list):
            raise _TypeMismatch(path, f"expected {type_name}")
        inner = type_name[len(_ARRAY) :]
        return [_check(item, inner, f"{path}[{i}]") for i, item in enumerate(value)]
    if type_name == "Integer":
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise _TypeMismatch(path, "expected Integer")
        return value
    if type_name == "Float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _TypeMismatch(path, "expected Float")
        return value
    if type_name == "Boolean":
        if not isinstance(value, bool):
            raise _TypeMismatch(path, "expected Boolean")
        return value
    if type_name == "String":
        if isinstance(value, str):
            return value
        # Telegram stringifies numbers sent where a string is expected (e.g. chat_id in a JSON body).
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise _TypeMismatch(path, "expected String")
    if type_name == "InputFile":
        if isinstance(value, UploadedFile):
            return value
        raise _TypeMismatch(path, "expected InputFile")
    types = load_spec()["types"]
    spec_type = types.get(type_name)
    if spec_type is None:
        return value  # a type the reference does not describe: nothing to check against
    if spec_type.get("subtypes"):
        return _check_union(value, spec_type["subtypes"], path)
    if not isinstance(value, dict):
        raise _TypeMismatch(path, f"expected {type_name} object")
    fields = spec_type["fields"]
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key not in fields:
            raise _TypeMismatch(f"{path}.{key}", f"unknown field of {type_name}")
        out[key] = _check_union(item, fields[key]["types"], f"{path}.{key}")
    for key, field in fields.items():
        if field["required"] and key not in value:
            raise _TypeMismatch(f"{path}.{key}", f"required field of {type_name} is missing")
    return out


def _check_union(value: Any, type_names: list[str], path: str) -> Any:
    """Accept ``value`` if it matches any of ``type_names``; report the deepest mismatch otherwise."""
    best: _TypeMismatch | None = None
    for type_name in type_names:
        try:
            return _check(value, type_name, path)
        except _TypeMismatch as exc:
            if best is None or len(exc.path) > len(best.path):
                best = exc
    assert best is not None
    if best.path == path and len(type_names) > 1:
        raise _TypeMismatch(path, "expected " + " or ".join(type_names))
    raise best


def _coerce_text(value: str, type_names: list[str]) -> Any:
    """Turn a form-encoded string into the native value its spec types call for (PTB sends JSON text)."""
    stripped = value.strip()
    if "Integer" in type_names and _INT_RE.match(stripped):
        return int(stripped)
    if "Float" in type_names and _FLOAT_RE.match(stripped):
        return float(stripped)
    if "Boolean" in type_names and stripped in ("true", "false"):
        return stripped == "true"
    structured = [t for t in type_names if t not in ("Integer", "Float", "Boolean", "String", "InputFile")]
    if structured and stripped[:1] in ("[", "{"):
        try:
            return json.loads(stripped)
        except ValueError:
            pass
    return value


def coerce_call(method: str, params: dict[str, Any]) -> tuple[dict[str, Any], ApiError | None]:
    """Validate a call and return its parameters coerced to native types, or the error Telegram would give."""
    name = canonical_method(method)
    if name is None:
        return params, ApiError(404, "Not Found")
    spec_params: dict[str, Any] = load_spec()["methods"][name]["params"]
    out: dict[str, Any] = {}
    for key, raw in params.items():
        if raw is None:
            continue
        if key not in spec_params:
            return params, bad_request(f'unknown parameter "{key}" for method {name}')
        types = spec_params[key]["types"]
        value = _coerce_text(raw, types) if isinstance(raw, str) else raw
        try:
            out[key] = _check_union(value, types, key)
        except _TypeMismatch as exc:
            return params, bad_request(f'parameter "{exc.path}" is invalid: {exc.detail}')
    for key, p in spec_params.items():
        if p["required"] and key not in out:
            return params, bad_request(f'parameter "{key}" is required')
    return out, None


def validate_call(method: str, params: dict[str, Any]) -> ApiError | None:
    """Check ``method`` and ``params`` against the spec; None when the call is well-formed."""
    return coerce_call(method, params)[1]
