"""The simulator's JSON API as the runner uses it: every HTTP call the suite makes is here.

One thin class, so the request and response shapes of `/api/*` are adjusted in one place.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import requests

# Ad clicks are issued per platform family: Google Ads and Data Manager share the gclid.
AD_CLICK_PLATFORM = {"meta": "meta", "tiktok": "tiktok", "google_ads": "google",
                     "datamanager": "google"}
# From this many deliveries on, one listing page beats one GET each; the API caps a page at 500.
BATCH_FROM = 4
PAGE_LIMIT = 500


class SimulatorError(RuntimeError):
    """The simulator refused a call or could not be reached; str() is one line."""


class SimClient:
    """Calls one simulator's `/api/`; a requests.Session keeps connections warm."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        # Scenarios run on several threads; a Session is not documented as thread-safe.
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    @property
    def session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            with self._lock:
                self._sessions.append(session)
        return session

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    def _call(self, method: str, path: str, *, timeout: float | None = None,
              **kwargs: Any) -> Any:
        url = f"{self.base_url}/api{path}"
        try:
            response = self.session.request(method, url, timeout=timeout or self.timeout,
                                            **kwargs)
        except requests.RequestException as exc:
            raise SimulatorError(f"simulator unreachable at {self.base_url}: "
                                 f"{type(exc).__name__}") from None
        if response.status_code >= 400:
            try:
                error = response.json().get("error", {})
                detail = error.get("message") or response.text[:200]
            except (ValueError, AttributeError):
                detail = response.text[:200]
            raise SimulatorError(f"{method} /api{path}: HTTP {response.status_code}: {detail}")
        return response.json() if response.content else {}

    @staticmethod
    def _items(data: Any, key: str = "items") -> list[dict[str, Any]]:
        """A list answer: `{key: [...]}` (network lists name their rows, journal uses items)."""
        if isinstance(data, list):
            return data
        return data.get(key, data.get("items", []))

    # -- setup --------------------------------------------------------------------------------

    def ping(self) -> None:
        """Raise SimulatorError unless the API answers."""
        self._call("GET", "/faults")

    def set_global_postback(self, url: str, network: str | None = None) -> dict[str, Any]:
        """Make `url` the network's global postback (offer_id null), creating or updating it;
        `network` is the persona whose macros it uses (the simulator's default when None)."""
        globals_ = [p for p in self._items(self._call("GET", "/postbacks"), "postbacks")
                    if p.get("offer_id") is None]
        chosen = {"network": network} if network else {}
        for postback in globals_:
            if (postback.get("url") == url and postback.get("enabled", True)
                    and postback.get("network", network) == (network or postback.get("network"))):
                return postback
        if globals_:
            return self._call("PATCH", f"/postbacks/{globals_[0]['id']}",
                              json={"url": url, "enabled": True, **chosen})
        return self._call("POST", "/postbacks", json={"url": url, "offer_id": None, **chosen})

    # -- steps --------------------------------------------------------------------------------

    def ad_click(self, platform: str, variant: str, ago_seconds: float) -> dict[str, Any]:
        """Issue an ad click (platform in profile terms) and return the row with its click ID."""
        return self._call("POST", "/ad-clicks", json={
            "platform": AD_CLICK_PLATFORM[platform], "variant": variant,
            "ago_seconds": ago_seconds,
        })

    def click(self, *, offer_id: int, subs: dict[str, str], ip: str, user_agent: str,
              country: str, ago_seconds: float) -> dict[str, Any]:
        """A tracking-link click; the answer carries `unique_click_id`."""
        return self._call("POST", "/clicks", json={
            "offer_id": offer_id, **subs, "ip": ip, "user_agent": user_agent,
            "country": country, "ago_seconds": ago_seconds,
        })

    def conversion(self, *, click: str | None = None, parent: str | None = None,
                   payout: float | None, currency: str | None, status: str,
                   ago_seconds: float, kind: str = "conversion",
                   event_name: str | None = None) -> dict[str, Any]:
        """A conversion or post-conversion event; the answer lists its `delivery_ids`."""
        body: dict[str, Any] = {"status": status, "ago_seconds": ago_seconds, "kind": kind}
        for key, value in (("click", click), ("conversion", parent), ("payout", payout),
                           ("currency", currency), ("event_name", event_name)):
            if value is not None:
                body[key] = value
        return self._call("POST", "/conversions", json=body)

    def set_status(self, conversion_id: str, status: str) -> dict[str, Any]:
        """Move a conversion (pending -> approved -> reversed, or rejected)."""
        return self._call("PATCH", f"/conversions/{conversion_id}", json={"status": status})

    def enable_postbacks(self) -> list[int]:
        """Enable every postback the network disabled; returns their ids."""
        disabled = [p["id"] for p in self._items(self._call("GET", "/postbacks"), "postbacks")
                    if not p.get("enabled", True)]
        for postback_id in disabled:
            self._call("PATCH", f"/postbacks/{postback_id}", json={"enabled": True})
        return disabled

    def delivery_ids(self, conversion: dict[str, Any]) -> list[int]:
        """The deliveries a conversion created (from its answer, else by a lookup)."""
        if "delivery_ids" in conversion:
            return list(conversion["delivery_ids"])
        if "deliveries" in conversion:
            return [d if isinstance(d, int) else d["id"] for d in conversion["deliveries"]]
        found = self._call("GET", "/deliveries",
                           params={"conversion_id": conversion["conversion_id"]})
        return [d["id"] for d in self._items(found, "deliveries")]

    def delivery(self, delivery_id: int) -> dict[str, Any]:
        """One delivery with its attempts."""
        return self._call("GET", f"/deliveries/{delivery_id}")

    def deliveries(self, delivery_ids: list[int]) -> list[dict[str, Any]]:
        """Several deliveries with their attempts, in the order asked, in few requests.

        The listing is newest first, so pages are read until the oldest wanted id is passed;
        a burst's 200 deliveries then cost one request instead of 200.
        """
        if len(delivery_ids) <= BATCH_FROM:
            return [self.delivery(i) for i in delivery_ids]
        wanted, found, offset = set(delivery_ids), {}, 0
        while True:
            page = self._items(self._call("GET", "/deliveries", params={
                "limit": PAGE_LIMIT, "offset": offset}), "deliveries")
            found.update((row["id"], row) for row in page if row["id"] in wanted)
            offset += len(page)
            if (len(found) == len(wanted) or len(page) < PAGE_LIMIT
                    or page[-1]["id"] <= min(wanted)):
                break
        return [found.get(i) or self.delivery(i) for i in delivery_ids]

    def replay(self, delivery_id: int) -> dict[str, Any]:
        """The network sends the same postback again, as a new delivery."""
        return self._call("POST", f"/deliveries/{delivery_id}/replay")

    def wait_delivered(self, delivery_ids: list[int], timeout: float) -> list[dict[str, Any]]:
        """Deliveries once none is pending any more (or at the timeout), with their attempts."""
        deadline = time.monotonic() + timeout
        done: dict[int, dict[str, Any]] = {}
        while True:
            for row in self.deliveries([i for i in delivery_ids if i not in done]):
                if row.get("status") != "pending":
                    done[row["id"]] = row
            if len(done) == len(delivery_ids) or time.monotonic() >= deadline:
                return [done.get(i) or self.delivery(i) for i in delivery_ids]
            # Wait on the journal instead of sleeping: a forwarded request ends the wait early.
            self.wait_journal(after_id=None, count=10000, timeout=0.05, since=time.time())

    def arm_fault(self, platform: str, kind: str, **settings: Any) -> dict[str, Any]:
        """The next `count` requests to `platform` fail (status, delay or reset)."""
        body = {"platform": platform, "kind": kind,
                **{k: v for k, v in settings.items() if v is not None}}
        return self._call("POST", "/faults", json=body)

    def pixel_event(self, platform: str, event_name: str, event_id: str,
                    pixel: str) -> dict[str, Any]:
        """Record the browser pixel's event (a journal entry with api `pixel`)."""
        return self._call("POST", "/pixel-events", json={
            "platform": platform, "event_name": event_name, "event_id": event_id,
            "pixel": pixel})

    def clear_faults(self, platform: str | None = None) -> None:
        """Disarm leftover faults (all platforms unless one is named)."""
        self._call("DELETE", "/faults", params={"platform": platform} if platform else None)

    # -- journal ------------------------------------------------------------------------------

    def journal(self, *, since: float | None = None, after_id: int | None = None,
                limit: int = 10000) -> list[dict[str, Any]]:
        """Entries matching the filters, oldest first."""
        params: dict[str, Any] = {"limit": limit}
        if since is not None:
            params["since"] = f"{since:.6f}"
        if after_id is not None:
            params["after_id"] = after_id
        return self._items(self._call("GET", "/journal", params=params))

    def journal_since(self, since: float, page: int = 5000) -> list[dict[str, Any]]:
        """Every entry since `since`, oldest first, read page by page."""
        out: list[dict[str, Any]] = []
        while True:
            batch = self.journal(since=since, after_id=out[-1]["id"] if out else None,
                                 limit=page)
            out.extend(batch)
            if len(batch) < page:
                return out

    def wait_journal(self, *, after_id: int | None, count: int, timeout: float,
                     since: float | None = None) -> list[dict[str, Any]]:
        """The server-side wait: returns when `count` entries match or `timeout` passes."""
        params: dict[str, Any] = {"count": min(count, 10000), "timeout": f"{timeout:.3f}",
                                  "limit": 10000}
        if after_id is not None:
            params["after_id"] = after_id
        if since is not None:
            params["since"] = f"{since:.6f}"
        data = self._call("GET", "/journal", params=params, timeout=timeout + self.timeout)
        return self._items(data)
