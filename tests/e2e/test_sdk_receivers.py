"""Self-test of the suite on the official SDKs' wire formats: a correct receiver built on each SDK
(fixtures/receivers/sdk/) passes every scenario of its platform in the whole catalogue."""

from __future__ import annotations

import pytest

from conformance.demo import demo
from conformance.receiver_process import default_platforms
from conformance.results import ScenarioFinished, ScenarioResult

pytestmark = pytest.mark.slow

SDK_RECEIVERS = {
    "meta_business_sdk": "meta",
    "tiktok_events1_sdk": "tiktok",
    "datamanager_sdk": "datamanager",
    "google_ads_sdk": "google_ads",  # google-ads over gRPC, configured by its env only
}


def explain(result: ScenarioResult) -> str:
    lines = [f"{result.id}: {result.status} {result.error or ''}"]
    lines += [f"  [{f['rule']}] {f['severity']}: {f['message']}" for f in result.findings][:8]
    return "\n".join(lines)


@pytest.mark.parametrize(("receiver", "platform"), SDK_RECEIVERS.items())
def test_sdk_receiver_passes_every_scenario_of_its_platform(receiver: str, platform: str) -> None:
    platforms = {platform: default_platforms()[platform]}
    results = [e.result for e in demo(receiver=f"sdk/{receiver}", platforms=platforms)
               if isinstance(e, ScenarioFinished)]

    ran = [r for r in results if r.status != "skipped"]
    assert ran, f"no scenario of {platform} ran"
    failures = [explain(r) for r in ran if r.status != "passed"]
    assert not failures, "\n".join(failures)
    apis = {e["api"] for r in ran for e in (r.evidence or {}).get("journal", [])}
    assert apis, f"no {platform} request was judged"
    if receiver == "google_ads_sdk":
        assert apis == {"grpc-upload"}
