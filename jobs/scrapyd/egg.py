"""The Scrapy project egg that `openwatch deploy` uploads: the `crawler` package, its data
files and the `[scrapy] settings` entry point, without the hub emulator."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from importlib import util as importlib_util
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from jobs.scrapyd.exceptions import ScrapydError

# Below `crawler/`: what workers never run. The hub emulator is for tests and the demo
# (44 % of crawler/); spiders do not import it (tests/jobs/test_scrapyd.py checks both).
LEFT_OUT = ("emulator",)

_SETUP_PY = """\
# Written by openwatch deploy into a temporary folder (as scrapyd-deploy writes its setup.py).
from setuptools import setup

setup(
    name="openwatch",
    version={version!r},
    packages={packages!r},
    package_data={package_data!r},
    entry_points={{"scrapy": ["settings = {settings}"]}},
    zip_safe=True,
)
"""


def build_egg(dest: Path, *, package: str = "crawler", settings_module: str = "crawler.settings",
              leave_out: tuple[str, ...] = LEFT_OUT) -> Path:
    """Build the Scrapy project egg into folder `dest`; returns its path.

    As scrapyd-client's `scrapyd-deploy --build-egg` does (a setup.py with the
    `[scrapy] settings` entry point, `setup.py bdist_egg` in a subprocess), but in a
    temporary copy of the installed `crawler` package: scrapyd-deploy writes setup.py into
    the project folder, and its setup.py meets our pyproject.toml there. The egg holds
    `crawler` with its data files, nothing else; workers need Scrapy, not openwatch. The
    folders of `leave_out` (below `package`) stay out: no spider imports them.
    """
    spec = importlib_util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ScrapydError(f"cannot find the {package!r} package to build the egg from")
    source = Path(next(iter(spec.submodule_search_locations)))
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="openwatch-egg-") as tmp:
        root = Path(tmp)
        shutil.copytree(source, root / package, ignore=_ignore(source, leave_out))
        packages, package_data = [], {}
        for init in sorted((root / package).rglob("__init__.py")):
            folder = init.parent
            name = ".".join(folder.relative_to(root).parts)
            packages.append(name)
            data = sorted(
                str(path.relative_to(folder)) for path in folder.rglob("*")
                if path.is_file() and path.suffix != ".py" and _owning_package(path, root) == folder
            )
            if data:
                package_data[name] = data
        try:
            egg_version = version("openwatch")
        except PackageNotFoundError:
            egg_version = "0.0.0"
        (root / "setup.py").write_text(_SETUP_PY.format(
            version=egg_version, packages=packages, package_data=package_data, settings=settings_module))
        out = root / "dist"
        proc = subprocess.run(
            [sys.executable, "setup.py", "-q", "bdist_egg", "-d", str(out)],
            cwd=root, capture_output=True, text=True,
        )
        eggs = sorted(out.glob("*.egg"))
        if proc.returncode != 0 or not eggs:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            hint = " (pip install setuptools)" if "setuptools" in " ".join(tail) else ""
            raise ScrapydError(f"building the egg failed: {tail[0][:200]}{hint}")
        target = dest / eggs[0].name
        shutil.copyfile(eggs[0], target)
    return target


def _ignore(source: Path, leave_out: tuple[str, ...]):
    """`copytree`'s filter: byte code, and the folders of `leave_out` below `source`."""
    compiled = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo")
    left_out = {(source / folder).resolve() for folder in leave_out}

    def ignore(folder: str, names: list[str]) -> set[str]:
        here = Path(folder).resolve()
        return set(compiled(folder, names)) | {name for name in names if here / name in left_out}

    return ignore


def _owning_package(path: Path, root: Path) -> Path:
    """The innermost folder above `path` with an __init__.py: its package owns the data file."""
    for parent in path.parents:
        if (parent / "__init__.py").exists() or parent == root:
            return parent
    return root


def deploy_version(source: Path | None = None, now: datetime | None = None) -> str:
    """`20261201T230953Z` plus `-<git describe>` when the code comes from a git work tree.

    Timestamp first: Scrapyd runs the last version in its sort (PEP 440 if every version
    parses, else plain string order), and these sort by time either way.
    """
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    if source is None:
        spec = importlib_util.find_spec("crawler")
        source = Path(next(iter(spec.submodule_search_locations))) if spec and spec.submodule_search_locations else None
    described = ""
    if source is not None and shutil.which("git"):
        try:
            proc = subprocess.run(["git", "-C", str(source), "describe", "--always", "--dirty"],
                                  capture_output=True, text=True, timeout=10)
            if proc.returncode == 0:
                described = re.sub(r"[^A-Za-z0-9_-]", "_", proc.stdout.strip())
        except (OSError, subprocess.SubprocessError):
            described = ""
    return f"{stamp}-{described}" if described else stamp


