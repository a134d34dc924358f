"""The environment a benchmark ran in, printed first so a figure is never read without it."""

from __future__ import annotations

import os
import platform
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata

PYTHON_PACKAGES = ("flask", "werkzeug", "gunicorn", "aiohttp", "urllib3", "requests",
                   "jsonschema", "fastjsonschema", "orjson")
# Tool -> the command that prints its version (first line of stdout or stderr is kept).
TOOL_VERSIONS = {
    "nginx": ["nginx", "-v"],
    "wrk": ["wrk", "--version"],
    "java": ["java", "-version"],
    "node": ["node", "--version"],
}


def package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def tool_version(command: list[str]) -> str:
    """First line a tool prints about its version, or `not found`."""
    if shutil.which(command[0]) is None:
        return "not found"
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=15, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"error: {exc}"
    text = (done.stdout or done.stderr).strip()
    return text.splitlines()[0] if text else "unknown"


def describe(title: str, tools: tuple[str, ...] = (), extra: dict[str, str] | None = None,
             ) -> str:
    """A block of `key: value` lines: time, machine, Python, packages and the named tools."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    lines = [
        f"== {title}",
        f"date:      {datetime.now(UTC).strftime('%Y-%m-%d %H:%M:%S UTC')}",
        f"machine:   {platform.platform()} ({platform.machine()}), "
        f"{os.cpu_count()} logical cores, load avg {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
        f"python:    {sys.version.split()[0]} ({platform.python_implementation()}), "
        f"sqlite {sqlite3.sqlite_version}",
        "packages:  " + ", ".join(f"{p} {package_version(p)}" for p in PYTHON_PACKAGES),
    ]
    for tool in tools:
        lines.append(f"{tool + ':':<10} {tool_version(TOOL_VERSIONS.get(tool, [tool]))}")
    for key, value in (extra or {}).items():
        lines.append(f"{key + ':':<10} {value}")
    return "\n".join(lines)
