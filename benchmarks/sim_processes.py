"""Our own programs as subprocesses: `postback-sim serve` (gunicorn) and the reference
receiver (fixtures/receivers/reference.py), started the way a user starts them."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from processes import LOCALHOST, ManagedProcess, free_port

REPO = Path(__file__).resolve().parents[1]
REFERENCE_RECEIVER = REPO / "fixtures" / "receivers" / "reference.py"


def postback_sim_serve(root: Path, db_name: str = "sim.db", *extra: str) -> ManagedProcess:
    """`postback-sim serve` on 127.0.0.1 with its state in a fresh SQLite file under `root`
    (`extra`: more options, e.g. `--grpc-port 0` for a second server beside the first)."""
    port = free_port()
    # No gRPC mock (no benchmark uses it): its fixed default port may be taken on a shared machine.
    command = [sys.executable, "-m", "conformance.cli", "serve", "--host", LOCALHOST,
               "--port", str(port), "--db", str(root / db_name), "--grpc-port", "0", *extra]
    env = {"PYTHONPATH": str(REPO)}
    return ManagedProcess("postback-sim serve", command, root / "postback-sim.log", port=port,
                          cwd=REPO, env=env)


def reference_receiver(root: Path, sim_url: str) -> ManagedProcess:
    """The reference receiver forwarding to the simulator's mocks (its README's env vars)."""
    port = free_port()
    env = {
        "RECEIVER_HOST": LOCALHOST,
        "RECEIVER_PORT": str(port),
        "META_BASE_URL": f"{sim_url}/meta",
        "TIKTOK_BASE_URL": f"{sim_url}/tiktok",
        "GOOGLE_ADS_BASE_URL": f"{sim_url}/google-ads",
        "DATAMANAGER_BASE_URL": f"{sim_url}/datamanager",
    }
    log = root / "receiver.log"
    return ManagedProcess("reference receiver", [sys.executable, "-u", str(REFERENCE_RECEIVER)],
                          log, port=port, env=env, cwd=REPO,
                          ready=lambda: _says_listening(log))


def _says_listening(log: Path) -> bool:
    try:
        head = log.read_text(encoding="utf-8", errors="replace")[:4000]
    except OSError:
        return False
    return re.search(r"listening on http://", head) is not None
