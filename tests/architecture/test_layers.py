"""The floors of the code, read from the imports of every module under ``core/``, the two
web apps ``dashboard/`` and ``cabinet/`` and their shared ``webapp/`` (imports inside
functions included):

- no module imports itself back through others (no circles);
- ``core`` never imports Streamlit; pages and widgets of either app never import SQLAlchemy
  or ``core.db`` (they call use cases, and take enums from the contexts);
- the cabinet's pages reach core through the customer facade ``core.customer_api`` (plus
  the ground floor's formatting and errors, and the demo's panel); neither app imports the
  other, and ``webapp`` imports neither app nor core;
- the ground floor (``core/*.py``, ``core.db``, ``core.files``, ``core.security``) imports no
  business context, except the entry points that wire them (``GROUND_EXCEPTIONS``);
- a context imports another context only as its ``__init__`` docstring declares in its
  «May import:» line, and only its public names: a module or name that starts with an
  underscore is private to its own context.
"""
from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTEXTS = ("customers", "billing", "payments", "finance", "notifications", "staff",
            "analytics", "demo")
GROUND_PACKAGES = ("db", "files", "security")
# Entry points and wiring: they exist to put the contexts together.
GROUND_EXCEPTIONS = {
    "core.cli": set(CONTEXTS),
    "core.worker": set(CONTEXTS),
    "core.jobs": set(CONTEXTS),
    "core.app": {"payments", "notifications", "customers"},
    # The customer's facade: every customer use case, whichever context owns it.
    "core.customer_api": {"customers", "billing", "payments", "notifications"},
    # The status enums live with their context's rules; the tables only store them.
    "core.db.models": {"notifications", "billing"},
}
APPS = ("core", "dashboard", "cabinet", "webapp")
DB_MODELS_MAY_TAKE = {"core.notifications.channels", "core.billing.invoice_rules"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    found = {}
    for top in APPS:
        for path in (ROOT / top).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            found[_module_name(path)] = path
    return found


@cache
def imports_of(module: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(imported module, names taken from it) for every import statement of ``module``."""
    path = modules()[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, ()) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = tuple(alias.name for alias in node.names)
            # ``from core.payments import flow`` imports the module core.payments.flow.
            submodules = [n for n in names if f"{base}.{n}" in modules()]
            for name in submodules:
                found.append((f"{base}.{name}", ()))
            rest = tuple(n for n in names if n not in submodules)
            if rest or not submodules:
                found.append((base, rest))
    return tuple(found)


def first_party(module: str) -> list[tuple[str, tuple[str, ...]]]:
    return [(m, n) for m, n in imports_of(module) if m.split(".")[0] in APPS]


def context_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "core" and parts[1] in CONTEXTS else None


def test_the_modules_are_found() -> None:
    assert {"core.payments.flow", "core.customers.sessions", "dashboard.app", "cabinet.app",
            "cabinet.views.register", "webapp.security"} <= set(modules())
    assert ("core.customers.sessions", ("signed_in_customer",)) in imports_of(
        "core.billing.invoices")


def test_no_module_imports_itself_back() -> None:
    graph = {m: {i for i, _ in first_party(m) if i in modules() and i != m} for m in modules()}
    # Importing a package runs its __init__ only, which holds a docstring: edges to a
    # package add nothing.
    graph = {m: {i for i in deps if modules()[i].name != "__init__.py"}
             for m, deps in graph.items()}
    circles, state, stack = [], {}, []

    def visit(m: str) -> None:
        state[m] = "open"
        stack.append(m)
        for dep in sorted(graph[m]):
            if state.get(dep) == "open":
                circles.append(" -> ".join([*stack[stack.index(dep):], dep]))
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m)
    assert circles == []


def test_core_knows_nothing_of_streamlit() -> None:
    offenders = [(m, i) for m in modules() if m.startswith("core")
                 for i, _ in imports_of(m) if i.split(".")[0] == "streamlit"]
    assert offenders == []


@pytest.mark.parametrize("top", ["dashboard", "cabinet", "webapp"])
def test_pages_call_use_cases_not_the_database(top: str) -> None:
    offenders = [(m, i) for m in modules() if m.split(".")[0] == top
                 for i, _ in imports_of(m)
                 if i.split(".")[0] == "sqlalchemy" or i == "core.db" or i.startswith("core.db.")]
    assert offenders == []


# What of core the cabinet may use besides the facade: wiring, errors, formatting, and the
# demo's panel (not a customer use case: the demo's «phone»).
CABINET_MAY_TAKE = {"core.customer_api", "core.app", "core.errors", "core.money",
                    "core.timefmt", "core.demo.inbox"}


def test_the_cabinet_reaches_core_through_the_customer_facade() -> None:
    offenders = [(m, i) for m in modules() if m.startswith("cabinet")
                 for i, _ in first_party(m)
                 if i.split(".")[0] == "core" and i not in CABINET_MAY_TAKE and i != "core"]
    assert offenders == []
    assert any(i == "core.customer_api" for m in modules() if m.startswith("cabinet.views")
               for i, _ in first_party(m))


def test_neither_app_imports_the_other_and_webapp_imports_neither() -> None:
    offenders = [(m, i) for m in modules() for i, _ in first_party(m)
                 if (m.startswith("cabinet") and i.startswith("dashboard"))
                 or (m.startswith("dashboard") and i.startswith("cabinet"))
                 or (m.startswith("webapp") and i.split(".")[0] in ("core", "dashboard", "cabinet"))
                 or (m.startswith("core") and i.split(".")[0] in ("dashboard", "cabinet", "webapp"))]
    assert offenders == []


def test_the_ground_floor_imports_no_context() -> None:
    offenders = []
    for m in modules():
        parts = m.split(".")
        ground = parts[0] == "core" and (len(parts) == 2 and parts[1] not in CONTEXTS
                                         or len(parts) > 1 and parts[1] in GROUND_PACKAGES)
        if not ground:
            continue
        allowed = GROUND_EXCEPTIONS.get(m, set())
        for i, _ in first_party(m):
            ctx = context_of(i)
            if ctx and ctx not in allowed:
                offenders.append((m, i))
            if m == "core.db.models" and ctx and i not in DB_MODELS_MAY_TAKE:
                offenders.append((m, i))
    assert offenders == []


def _is_private(module: str, names: tuple[str, ...]) -> bool:
    return (any(part.startswith("_") and part != "__init__" for part in module.split("."))
            or any(n.startswith("_") for n in names))


def test_contexts_take_only_each_others_public_names() -> None:
    offenders = []
    for m in modules():
        here = context_of(m) or ("dashboard" if m.startswith("dashboard") else "ground")
        for i, names in first_party(m):
            there = context_of(i)
            if there and there != here and _is_private(i, names):
                offenders.append((m, i, names))
    assert offenders == []


def declared(context: str) -> set[str]:
    doc = ast.get_docstring(ast.parse((ROOT / "core" / context / "__init__.py").read_text(
        encoding="utf-8"))) or ""
    found = re.search(r"May import:(.*?)(?:\.\s*$|\.\s*\n\s*\n|$)", doc, re.S)
    assert found, f"core/{context}/__init__.py: no «May import:» line"
    line = found.group(1)
    if "every context" in line:
        return set(CONTEXTS)
    return {c for c in CONTEXTS if re.search(rf"``{c}``", line)}


@pytest.mark.parametrize("context", CONTEXTS)
def test_a_context_imports_only_what_its_docstring_declares(context: str) -> None:
    used = {context_of(i) for m in modules() if context_of(m) == context
            for i, _ in first_party(m)} - {None, context}
    assert used <= declared(context), f"core/{context}: undeclared imports of {used - declared(context)}"


@pytest.mark.parametrize("package", [*CONTEXTS, *GROUND_PACKAGES])
def test_every_package_says_what_it_owns(package: str) -> None:
    doc = ast.get_docstring(ast.parse((ROOT / "core" / package / "__init__.py").read_text(
        encoding="utf-8")))
    assert doc and len(doc.split()) >= 12 and "May import:" in doc


def test_role_groups_are_written_once() -> None:
    """A set of roles is spelt out only in ``core.staff.permissions``; everywhere else a rule
    names one of its groups."""
    spelt = re.compile(r"[{(]\s*StaffRole\.\w+\s*(,\s*StaffRole\.\w+|\})")
    offenders = [m for m, path in modules().items()
                 if m != "core.staff.permissions" and spelt.search(path.read_text(encoding="utf-8"))]
    assert offenders == []
