"""What happened to one conversion's platform requests, told in one sentence for a finding.

Several requests for one conversion have different causes, and the fix differs: the receiver
retried on its own while handling one postback, or it answered the postback with an error (or
too slowly) so the *network* delivered it again, or the scenario itself redelivered it. Each
request is placed in the postback attempt that was in flight when it arrived (else the last one
started before it, for receivers that forward after answering).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from conformance.pairing import ATTEMPT_SLACK_S, attempt_spans

Row = dict[str, Any]
REASON_CHARS = 60
NAMES = {"meta": "Meta", "tiktok": "TikTok", "google_ads": "Google Ads",
         "datamanager": "Data Manager"}


def platform_name(platform: str) -> str:
    return NAMES.get(platform, platform)


def attempt_of(ts: float, spans: list[tuple[float, float, Row, Row]]) -> int | None:
    """The index of the postback attempt a request sent at `ts` belongs to: the one in flight,
    else the last one started before it; None before any."""
    started = [i for i, (start, _, _, _) in enumerate(spans) if start <= ts]
    if not started:
        return None
    in_flight = [i for i in started if ts <= spans[i][1] + ATTEMPT_SLACK_S]
    return in_flight[-1] if in_flight else started[-1]


def status_of(entry: Row) -> str:
    """The HTTP status, with the platform's own code and reason when it refused the request
    (TikTok refuses in an HTTP 200), or what happened when no answer went out."""
    response = entry.get("response") or {}
    if not isinstance(response, dict):
        response = {}
    status = entry.get("status")
    if not status:
        return str(response.get("text") or entry.get("fault") or "no answer")
    error = response.get("error") if isinstance(response.get("error"), dict) else {}
    code = response.get("code") if entry.get("platform") == "tiktok" else error.get("code")
    refused = (status >= 400) if entry.get("platform") != "tiktok" else code not in (0, None)
    if not refused:
        return str(status)
    reason = str(error.get("message") or response.get("message") or "")
    reason = reason if len(reason) <= REASON_CHARS else reason[:REASON_CHARS - 3] + "..."
    label = f"code {code}" if code is not None and code != status else ""
    detail = ": ".join(part for part in (label, reason) if part)
    return f"{status} ({detail})" if detail else str(status)


def _answer(attempt: Row) -> str:
    if attempt.get("status_code"):
        return str(attempt["status_code"])
    return "with an error" if not attempt.get("error") else f"with {attempt['error']}"


def _sent_after_answering(requests: list[Row], spans: list[tuple[float, float, Row, Row]]
                          ) -> tuple[int, str] | None:
    """(how many, the answer) of the requests sent after their postback attempt was answered
    with a 2xx. A receiver that forwards while it handles the postback waits for the platform,
    which journals the request before it answers, so such a request arrives before the network
    has its answer; one that arrives after it was sent by a receiver that answered first."""
    count, answer = 0, ""
    for entry in requests:
        ts = float(entry.get("ts") or 0.0)
        started = [span for span in spans if span[0] <= ts]
        if not started:
            continue
        _, end, attempt, _ = started[-1]
        code = attempt.get("status_code")
        if ts > end and isinstance(code, int) and 200 <= code < 300:
            count, answer = count + 1, str(code)
    return (count, answer) if count else None


def tell(platform: str, requests: list[Row], deliveries: list[Row]) -> str:
    """'4 request(s) with statuses [400, 400, 400, 400]: the receiver answered ...'."""
    requests = sorted(requests, key=lambda e: (e.get("ts") or 0.0, e.get("id") or 0))
    statuses = ", ".join(status_of(e) for e in requests)
    text = f"{len(requests)} request(s) with statuses [{statuses}]"
    spans = attempt_spans(deliveries)
    if not requests or not spans:
        return text
    attempts = [attempt_of(float(e.get("ts") or 0.0), spans) for e in requests]
    per_attempt = Counter(attempts)
    parts = []
    own = sum(n - 1 for i, n in per_attempt.items() if i is not None and n > 1)
    if own:
        parts.append(f"the receiver itself retried {own} time(s) while handling a postback")
    redelivered = [(i, span) for i, span in enumerate(spans)
                   if span[3].get("redelivery_of") is None and int(span[2].get("number") or 1) > 1]
    if redelivered:
        before = spans[redelivered[0][0] - 1][2] if redelivered[0][0] else spans[0][2]
        last_platform = [status_of(e) for e, i in zip(requests, attempts, strict=True)
                         if i == redelivered[0][0] - 1]
        after = (f" after {platform_name(platform)}'s {last_platform[-1]}"
                 if last_platform else "")
        parts.append(f"the receiver answered the postback {_answer(before)}{after}, so the "
                     f"network redelivered it {len(redelivered)} time(s)")
    replays = {span[3].get("id") for span in spans if span[3].get("redelivery_of") is not None}
    if replays:
        parts.append(f"the scenario redelivered the postback {len(replays)} time(s)")
    late = _sent_after_answering(requests, spans)
    if late:
        count, answer = late
        parts.append(f"the receiver had answered the postback {answer} before it sent {count} "
                     "of them, so the network, told the postback succeeded, will not deliver it "
                     "again whatever the platform answered")
    return f"{text}: {'; '.join(parts)}" if parts else text
