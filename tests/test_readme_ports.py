"""The README says how to move the two apps to other ports, and the Makefile does what it says."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_readme_tells_how_to_change_the_ports() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert re.search(r"`make run PORT=\d+ CABINET_PORT=\d+`", readme)
    assert "make serve PORT=… CABINET_PORT=…" in readme


def test_make_run_serves_on_the_ports_given() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^PORT \?= 8501$", makefile, re.M)
    assert re.search(r"^CABINET_PORT \?= 8502$", makefile, re.M)
    planned = subprocess.run(["make", "-n", "run", "PORT=8601", "CABINET_PORT=8602"],
                             cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert "dashboard/server.py --server.port 8601" in planned
    assert "cabinet/server.py --server.port 8602" in planned
    assert "http://localhost:8602" in planned  # «Смотреть как клиент» follows the cabinet
