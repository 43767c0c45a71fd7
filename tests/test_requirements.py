"""The dependency files: requirements.in names every package the code imports, with a
reason, and requirements.txt locks all of them, each pinned with its hashes (what
`make` installs with ``pip install --require-hashes``). The benchmark's Django peer
(benchmarks/django_peer) is the one exception: its packages are the benchmark extra,
requirements-bench.in, locked in requirements-bench.txt, never the app's."""
from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OWN = {"core", "dashboard", "cabinet", "webapp", "tests", "benchmarks"}
_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;\\]+)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def direct_requirements(text: str) -> dict[str, tuple[str, str]]:
    """requirements.in: name -> (version, reason). A line without ``==`` is kept with
    an empty version so the test can name it."""
    found: dict[str, tuple[str, str]] = {}
    for line in text.splitlines():
        spec, _, reason = line.partition("#")
        spec = spec.strip()
        if not spec:
            continue
        match = _NAME.match(spec)
        name = match.group(1) if match else re.split(r"[\[<>=!~; ]", spec)[0]
        found[canonical(name)] = (match.group(3) if match else "", reason.strip())
    return found


def locked_requirements(text: str) -> dict[str, tuple[str, list[str]]]:
    """requirements.txt: name -> (version, hashes); a line without ``==`` gets ""."""
    found: dict[str, tuple[str, list[str]]] = {}
    for entry in text.replace("\\\n", " ").splitlines():
        spec = entry.split("#", 1)[0].strip()
        if not spec or spec.startswith("-"):
            continue
        match = _NAME.match(spec)
        name = match.group(1) if match else re.split(r"[\[<>=!~; ]", spec)[0]
        found[canonical(name)] = (match.group(3) if match else "",
                                  re.findall(r"--hash=sha256:([0-9a-f]{64})", spec))
    return found


PEER = "benchmarks/django_peer"  # the benchmark extra's only importer


def imported_distributions(*folders: str, exclude: tuple[str, ...] = ()) -> dict[str, set[str]]:
    """Distribution -> the top-level modules of ``folders`` (less the ``exclude`` folders)
    that bring it in."""
    modules: set[str] = set()
    skipped = [ROOT / folder for folder in exclude]
    for folder in folders:
        for path in (ROOT / folder).rglob("*.py"):
            if any(path.is_relative_to(skip) for skip in skipped):
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    modules |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules.add(node.module.split(".")[0])
    third_party = modules - OWN - set(sys.stdlib_module_names)
    owners = packages_distributions()
    found: dict[str, set[str]] = {}
    for module in sorted(third_party):
        # A module no installed distribution provides is reported under its own name.
        for dist in owners.get(module, [module]):
            found.setdefault(canonical(dist), set()).add(module)
    return found


DIRECT = direct_requirements((ROOT / "requirements.in").read_text(encoding="utf-8"))
LOCKED = locked_requirements((ROOT / "requirements.txt").read_text(encoding="utf-8"))
BENCH = direct_requirements((ROOT / "requirements-bench.in").read_text(encoding="utf-8"))
BENCH_LOCKED = locked_requirements((ROOT / "requirements-bench.txt").read_text(encoding="utf-8"))


def test_every_package_the_code_imports_is_a_direct_requirement() -> None:
    missing = {dist: sorted(mods) for dist, mods in
               imported_distributions("core", "dashboard", "cabinet", "webapp", "tests",
                                      "benchmarks", exclude=(PEER,)).items()
               if dist not in DIRECT}
    assert missing == {}, f"add to requirements.in (then `make lock`): {missing}"


def test_the_django_peer_imports_only_the_app_and_the_benchmark_extra() -> None:
    imported = imported_distributions(PEER)
    assert "django" in imported  # the scan sees the peer at all
    missing = {dist: sorted(mods) for dist, mods in imported.items()
               if dist not in BENCH and dist not in DIRECT}
    assert missing == {}, f"add to requirements-bench.in (then `make lock-bench`): {missing}"


def test_the_benchmark_extra_is_apart_from_the_app_and_locked_with_hashes() -> None:
    assert set(BENCH) & set(DIRECT) == set()  # one place for each package
    assert not set(BENCH) & set(LOCKED), "the app's lock must not pull in the extra"
    unpinned = sorted(name for name, (version, _) in BENCH.items() if not version)
    unexplained = sorted(name for name, (_, reason) in BENCH.items() if not reason)
    without_hashes = sorted(name for name, (_, hashes) in BENCH_LOCKED.items() if not hashes)
    differ = {name: (version, BENCH_LOCKED.get(name, ("absent",))[0])
              for name, (version, _) in BENCH.items()
              if BENCH_LOCKED.get(name, ("absent",))[0] != version}
    assert (unpinned, unexplained, without_hashes, differ) == ([], [], [], {})


def test_every_direct_requirement_is_pinned_and_says_why() -> None:
    unpinned = sorted(name for name, (version, _) in DIRECT.items() if not version)
    unexplained = sorted(name for name, (_, reason) in DIRECT.items() if not reason)
    assert (unpinned, unexplained) == ([], [])


def test_the_lock_pins_every_package_with_hashes() -> None:
    assert len(LOCKED) > len(DIRECT)  # the transitive ones are there too
    unpinned = sorted(name for name, (version, _) in LOCKED.items() if not version)
    without_hashes = sorted(name for name, (_, hashes) in LOCKED.items() if not hashes)
    assert (unpinned, without_hashes) == ([], [])


def test_the_lock_holds_each_direct_requirement_at_its_version() -> None:
    differ = {name: (version, LOCKED.get(name, ("absent",))[0])
              for name, (version, _) in DIRECT.items()
              if LOCKED.get(name, ("absent",))[0] != version}
    assert differ == {}, "run `make lock` after changing requirements.in"


def test_parsers_see_a_line_added_without_hashes() -> None:
    lock = ('alembic==1.20.1 \\\n    --hash=sha256:' + "a" * 64 + '\n    # via x\n'
            'newlib==1.0\n')
    assert locked_requirements(lock) == {"alembic": ("1.20.1", ["a" * 64]),
                                         "newlib": ("1.0", [])}
    assert direct_requirements("psycopg[binary]==3.3.9  # driver\nfoo>=1\n") == {
        "psycopg": ("3.3.9", "driver"), "foo": ("", "")}
