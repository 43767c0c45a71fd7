"""Imports the entry script and every page need, done when the server starts.

The first script run of a process used to import them: pandas, SQLAlchemy's models,
streamlit-authenticator, plotly and the core services, 3.9 s of the login form's first
load (cProfile of that run in AppTest on the small data set), and the first opening of
each page paid for its own. ``streamlit run dashboard/server.py`` imports them before it
answers its health check, so nobody waits for them."""
from __future__ import annotations

import ast
import importlib
import logging
import sys
from pathlib import Path

DASHBOARD = Path(__file__).resolve().parent


def modules_to_warm() -> list[str]:
    """The absolute imports of ``app.py`` and of every page script, in file order; a name
    taken from a package (``from core.billing import providers``) counts as its module."""
    names: list[str] = []
    for script in [DASHBOARD / "app.py", *sorted((DASHBOARD / "views").glob("*.py"))]:
        for node in ast.walk(ast.parse(script.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            elif isinstance(node, ast.Import):
                found = [alias.name for alias in node.names]
            else:
                continue
            names += [name for name in found if name not in names]
    return names


def warm() -> None:
    for name in modules_to_warm():
        parent, _, leaf = name.rpartition(".")
        loaded = sys.modules.get(parent)
        if loaded is not None and leaf and hasattr(loaded, leaf) and name not in sys.modules:
            continue  # a function or class of the module, not a module of its own
        try:
            importlib.import_module(name)
        except ModuleNotFoundError:
            continue  # a name, not a submodule
        except Exception:  # a page that cannot import says so when opened, not at start
            logging.getLogger("dashboard").warning("Не загружен заранее: %s", name,
                                                   exc_info=True)
