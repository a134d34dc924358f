"""Reports are written to a temporary file and renamed, so a crash never leaves half a report
for CI to parse."""

from __future__ import annotations

from pathlib import Path


def write_atomically(path: str | Path, data: str | bytes) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(target.suffix + ".tmp")
    tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    tmp.replace(target)
