"""The shape holds: the import graph of the production code follows the rules of the README's code layout."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "db")


def module_name(path: Path) -> str:
    """'handlers/alerts/service.py' -> 'handlers.alerts.service' (a package is its __init__)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, anywhere in it (inside functions and TYPE_CHECKING blocks too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    package = module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else module_name(path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            found.add(base)
            # "from handlers import alerts" imports the package handlers.alerts.
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports."""
    files = [p for package in PACKAGES for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts]
    modules = {module_name(p): p for p in files}
    return {name: {i for i in imports_of(path) if i in modules} - {name} for name, path in modules.items()}


IMPORTS = graph()


def top(module: str) -> str:
    return module.split(".")[0]


def feature_of(module: str) -> str | None:
    """The feature package a module belongs to (handlers.<name>...), if any."""
    parts = module.split(".")
    return parts[1] if parts[0] == "handlers" and len(parts) > 1 else None


def test_the_graph_is_read() -> None:
    assert "handlers.alerts.service" in IMPORTS and "db.alerts" in IMPORTS["handlers.alerts.service"]


@pytest.mark.parametrize("module", sorted(m for m in IMPORTS if top(m) == "db"))
def test_db_imports_nothing_from_bot_or_handlers(module: str) -> None:
    assert {top(i) for i in IMPORTS[module]} <= {"db"}, IMPORTS[module]


def test_bot_imports_features_only_in_the_factory() -> None:
    offenders = {m: i for m, i in IMPORTS.items() if top(m) == "bot" and any(top(x) == "handlers" for x in i)}
    assert set(offenders) <= {"bot.app"}, offenders


def test_features_never_import_each_other() -> None:
    crossing = {
        (module, imported)
        for module, imported_set in IMPORTS.items()
        for imported in imported_set
        if feature_of(module) and feature_of(imported) and feature_of(module) != feature_of(imported)
    }
    assert crossing == set()


def test_production_code_never_imports_the_sandbox() -> None:
    # The command line starts the tooling (`liaison emulator`, `liaison sandbox`) on demand; nothing else may.
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if path == ROOT / "bot" / "cli.py":
                continue
            assert not any(top(i) == "sandbox" for i in imports_of(path)), path


def test_no_import_cycles_among_handler_modules() -> None:
    handler_graph = {
        m: {i for i in deps if top(i) == "handlers"} for m, deps in IMPORTS.items() if top(m) == "handlers"
    }
    # The feature list (handlers/__init__) imports every feature package by design; cycles below it count.
    handler_graph.pop("handlers", None)
    for deps in handler_graph.values():
        deps.discard("handlers")
    visiting: list[str] = []
    done: set[str] = set()

    def visit(module: str) -> None:
        if module in done:
            return
        assert module not in visiting, "import cycle: " + " -> ".join(
            [*visiting[visiting.index(module) :], module]
        )
        visiting.append(module)
        for imported in sorted(handler_graph.get(module, ())):
            # A package's __init__ importing its own modules is how a feature declares itself, not a cycle.
            if imported.startswith(module + "."):
                continue
            visit(imported)
        visiting.pop()
        done.add(module)

    for module in sorted(handler_graph):
        visit(module)


# Roles above an agent: comparing with one of them decides who may do what, which bot/access.py alone does.
RULE_ROLES = frozenset({"CHIEF", "COORDINATOR", "ADMIN"})


def _names_rule_role(node: ast.AST) -> bool:
    """Whether an expression mentions Role.CHIEF, Role.COORDINATOR or Role.ADMIN."""
    return any(
        isinstance(sub, ast.Attribute)
        and sub.attr in RULE_ROLES
        and isinstance(sub.value, ast.Name)
        and sub.value.id == "Role"
        for sub in ast.walk(node)
    )


def role_comparisons(source: str) -> list[int]:
    """Lines of a module's source that compare (or match) something with a role above an agent."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
        elif isinstance(node, ast.MatchValue):
            operands = [node.value]
        else:
            continue
        if any(_names_rule_role(operand) for operand in operands):
            found.add(node.lineno)
    return sorted(found)


def test_the_role_check_sees_rules_and_not_queries() -> None:
    rules = (
        "card = m.id == a or (m.role == Role.CHIEF and m.post_code in posts)\n"
        "if role in (Role.COORDINATOR, Role.ADMIN):\n    pass\n"
        "match m.role:\n    case Role.CHIEF:\n        pass\n"
    )
    assert role_comparisons(rules) == [1, 2, 5]
    assert (
        role_comparisons("chiefs = list_members(session, roles=(Role.CHIEF,))\nok = m.role == Role.AGENT\n")
        == []
    )


def test_role_rules_live_in_access_alone() -> None:
    # Handlers and bot/ ask bot/access.py; a render module may still word a role ("You are a coordinator",
    # "Post chiefs"): choosing words is not deciding who may act. Passing a role to a query is not comparing.
    files = [
        path
        for package in ("bot", "handlers")
        for path in (ROOT / package).rglob("*.py")
        if path != ROOT / "bot" / "access.py" and path.name != "render.py"
    ]
    offenders = {
        str(path.relative_to(ROOT)): lines
        for path in files
        if (lines := role_comparisons(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}, "compare roles in bot/access.py (a named rule), not here: " + repr(offenders)
