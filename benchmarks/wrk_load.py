"""Driving wrk: a Lua script for POST bodies and a parser for its summary."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

# wrk's request() runs per request: it builds a body whose `__SEQ__` marks become a fresh
# counter value, so every event carries a unique event_id (as real traffic does: a mock that
# deduplicates would otherwise see one event replayed).
POST_SCRIPT = """\
local parts = {{}}
local template = io.open("{body_path}"):read("*a")
local start = 1
while true do
  local i, j = string.find(template, "__SEQ__", start, true)
  if not i then break end
  table.insert(parts, string.sub(template, start, i - 1))
  start = j + 1
end
local tail = string.sub(template, start)
local seq = 0
local prefix = tostring(math.random(1, 1000000000))
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  local out = {{}}
  for _, part in ipairs(parts) do
    seq = seq + 1
    table.insert(out, part)
    table.insert(out, prefix .. "-" .. seq)
  end
  table.insert(out, tail)
  return wrk.format(nil, nil, nil, table.concat(out))
end
"""

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    rate: float
    latency_ms: dict[str, float]  # 50%, 90%, 99% from --latency
    non_2xx: int
    socket_errors: str | None
    raw: str

    @property
    def ok(self) -> bool:
        return self.non_2xx == 0 and self.socket_errors is None


def write_post_script(folder: Path, name: str, body_template: str) -> Path:
    """A wrk script POSTing `body_template` with each `__SEQ__` replaced by a unique value."""
    body_path = folder / f"{name}.body.json"
    body_path.write_text(body_template, encoding="utf-8")
    script = folder / f"{name}.lua"
    script.write_text(POST_SCRIPT.format(body_path=body_path), encoding="utf-8")
    return script


def run_wrk(url: str, *, seconds: float, connections: int, threads: int = 1,
            script: Path | None = None, timeout_s: float = 10.0) -> WrkResult:
    """Run wrk for `seconds` against `url` (127.0.0.1 only) and parse its summary."""
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"benchmarks only load 127.0.0.1, not {url}")
    binary = shutil.which("wrk")
    if binary is None:
        raise RuntimeError("wrk not found: apt-get install -y wrk")
    command = [binary, f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency",
               f"--timeout={timeout_s:g}s"]
    if script is not None:
        command += ["-s", str(script)]
    command.append(url)
    done = subprocess.run(command, capture_output=True, text=True, check=False,
                          timeout=seconds + timeout_s + 30)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()[:300]}")
    return parse(done.stdout)


def parse(text: str) -> WrkResult:
    """Parse wrk's text summary."""
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", text)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if not total or not rate:
        raise RuntimeError(f"cannot parse wrk output: {text[:300]}")
    latency = {pct: float(v) * _UNITS[u] for pct, v, u in
               re.findall(r"^\s+(50|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.MULTILINE)}
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(r"Socket errors: (.*)", text)
    return WrkResult(
        requests=int(total.group(1)),
        seconds=float(total.group(2)) * _UNITS[total.group(3)] / 1e3,
        rate=float(rate.group(1)),
        latency_ms={f"p{k}": v for k, v in latency.items()},
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=errors.group(1).strip() if errors else None,
        raw=text,
    )
