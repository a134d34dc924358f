"""An nginx on 127.0.0.1 that answers every request `200 ok`: the fastest receiver there is, so
what a firing benchmark measures is the sender."""

from __future__ import annotations

import shutil
from pathlib import Path

from processes import LOCALHOST, ManagedProcess, free_port

CONFIG = """\
daemon off;
master_process on;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    keepalive_requests 1000000;
    server {{
        listen {host}:{port} reuseport;
        location / {{ default_type text/plain; return 200 "ok\\n"; }}
    }}
}}
"""


def nginx_sink(root: Path) -> ManagedProcess:
    """A ManagedProcess (not yet started) serving the sink; its config lives in `root`."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    port = free_port()
    conf = root / "nginx.conf"
    conf.write_text(CONFIG.format(root=root, host=LOCALHOST, port=port), encoding="utf-8")
    # -e: the startup error log too stays in our folder (nginx >= 1.19.5).
    command = [binary, "-p", str(root), "-c", str(conf), "-e", str(root / "error.log")]
    return ManagedProcess("nginx sink", command, root / "nginx.out", port=port)


def sink_url(process: ManagedProcess) -> str:
    return f"http://{LOCALHOST}:{process.port}"
