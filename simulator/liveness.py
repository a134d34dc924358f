"""Who holds a claim, and whether that process still runs: the delivery engine's leases and the
analyser's backlog claims name `host:pid:random` owners, so a restart on the same host can take
over what a killed process held at once instead of waiting for the claim to go stale."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path


def new_owner() -> str:
    """host:pid:random, the identity a lease or claim names."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def alive(pid: int) -> bool:
    """Whether the process runs: a killed one may linger as a zombie until its parent reaps it,
    which Linux shows as state Z in /proc/<pid>/stat."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (not Linux): the signal check is all there is
    return stat.rpartition(")")[2].split()[:1] not in (["Z"], ["X"])


def dead_here(owner: str) -> bool:
    """True only when `owner` names a process of this host that is gone. An owner of another host,
    an unreadable one or a live (possibly reused) pid is not known dead: it waits to go stale."""
    host, _, pid = owner.rpartition(":")[0].rpartition(":")
    if host != socket.gethostname() or not pid.isascii() or not pid.isdigit():
        return False
    return int(pid) != os.getpid() and not alive(int(pid))
