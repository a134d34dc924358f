"""The retry scenarios catch what they are named for: a receiver that keeps retrying a rejected
(400) request, however long it would go on, fails `platform-400-no-retry`."""

from __future__ import annotations

from pathlib import Path

from conformance.paths import RECEIVERS
from conformance.receiver_process import ReceiverProcess, profile_for, receiver_env
from conformance.results import ScenarioFinished
from conformance.runner import RunOptions, run
from conformance.scenario import load_catalogue, select
from simulator.server import BackgroundServer

RETRY_FOREVER = f"""
import sys
sys.path.insert(0, {str(RECEIVERS)!r})
import reference


class RetryForever(reference.Receiver):
    max_attempts = 1_000_000  # stops only when the platform says yes

    def should_retry(self, platform, response):
        return response.status_code >= 400 or super().should_retry(platform, response)

    def backoff(self, attempt, response):
        return 0.05


if __name__ == "__main__":
    reference.main(RetryForever)
"""


def test_a_receiver_retrying_a_400_until_it_passes_fails_the_no_retry_scenario(
    tmp_path: Path, live_server: BackgroundServer
) -> None:
    program = tmp_path / "retry_forever.py"
    program.write_text(RETRY_FOREVER, encoding="utf-8")
    with ReceiverProcess(program, receiver_env(live_server.url)) as receiver:
        profile = profile_for(receiver.url, {"meta": {"pixel_id": "1234567890"}},
                              settle_seconds=0.3)
        events = run(profile, select(load_catalogue(), ids=["platform-400-no-retry"]),
                     RunOptions(sim_url=live_server.url))
        (result,) = [e.result for e in events if isinstance(e, ScenarioFinished)]
    assert result.status == "failed"
    (finding,) = [f for f in result.findings if f["rule"] == "SCN-REQUESTS"]
    assert "expected at most 2 request(s) to meta" in finding["message"]
    assert finding["evidence"]["received"] > 2
