"""The peers' own virtual environment, created on demand: never Omne's, so Omne's process never imports them."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from omne.errors import OmneError

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
REQUIREMENTS = HERE / "requirements.txt"
CONSTRAINTS = (HERE / "constraints.txt", REPO / "constraints-cpu.txt")  # exact versions; torch's CPU wheel
DEFAULT_VENV = Path(".omne") / "peers-venv"
STAMP = ".omne-peers-stamp"


class PeerEnvironmentError(OmneError):
    """The peers' environment could not be created, or a peer run failed."""


def python_of(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def pins_digest() -> str:
    """What the environment was installed from: a new pin means a new install."""
    digest = hashlib.sha256()
    for path in (REQUIREMENTS, *CONSTRAINTS):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_peers_venv(venv: Path = DEFAULT_VENV, *, say: Callable[[str], None] = print) -> Path:
    """The python of `venv`, first created (`python -m venv`) and installed (pip, pinned) when it is missing or
    was installed from other pins. Returns at once when it is up to date."""
    python, stamp = python_of(venv), venv / STAMP
    if python.is_file() and stamp.is_file() and stamp.read_text().strip() == pins_digest():
        return python
    log = venv.parent / f"{venv.name}-install.log"
    venv.parent.mkdir(parents=True, exist_ok=True)
    say(f"installing the peers into their own environment {venv} (pinned in {REQUIREMENTS.relative_to(REPO)}; "
        f"a few minutes the first time; log: {log})")
    steps = [[sys.executable, "-m", "venv", str(venv)]] if not python.is_file() else []
    steps.append([str(python), "-m", "pip", "install", "--disable-pip-version-check", "-r", str(REQUIREMENTS),
                  *[arg for c in CONSTRAINTS for arg in ("-c", str(c))]])
    with log.open("w", encoding="utf-8") as out:
        for step in steps:
            done = subprocess.run(step, stdout=out, stderr=subprocess.STDOUT, check=False)
            if done.returncode != 0:
                raise PeerEnvironmentError(
                    f"creating the peers' environment failed ({' '.join(step[:4])} ... exit {done.returncode}); "
                    f"see {log}. The peers install from PyPI: check that it is reachable, or remove {venv} "
                    f"and run again")
    stamp.write_text(pins_digest() + "\n")
    return python
