"""The official google-ads-datamanager client, unmodified, ingesting into the mock over REST."""

from __future__ import annotations

import random
from datetime import timedelta

from google.ads import datamanager_v1 as dm
from google.api_core.client_options import ClientOptions
from google.oauth2.credentials import Credentials
from google.protobuf import timestamp_pb2

from simulator.platforms import clickids, journal


def test_official_rest_client_ingests_an_event_that_is_accepted_and_journaled(
    live_server, services
):
    gclid = clickids.issue(services.store, services.clock, random.Random(1), "google",
                           at=services.clock.now() - timedelta(days=1))["click_id"]
    # The REST transport keeps an explicit http:// scheme in api_endpoint (rest_base.py).
    client = dm.IngestionServiceClient(
        transport="rest",
        credentials=Credentials(token="test-token"),
        client_options=ClientOptions(api_endpoint=f"{live_server.url}/datamanager"),
    )
    when = timestamp_pb2.Timestamp()
    when.FromSeconds(int(services.clock.time()) - 60)
    request = dm.IngestEventsRequest(
        destinations=[dm.Destination(
            operating_account=dm.ProductAccount(
                account_type=dm.ProductAccount.AccountType.GOOGLE_ADS, account_id="1234567890"),
            product_destination_id="987654321",
        )],
        events=[dm.Event(
            transaction_id="conv-sdk-1",
            event_timestamp=when,
            ad_identifiers=dm.AdIdentifiers(gclid=gclid),
            conversion_value=12.5,
            currency="USD",
            event_source=dm.EventSource.WEB,
        )],
        encoding=dm.Encoding.HEX,
    )

    response = client.ingest_events(request=request)

    assert response.request_id
    [entry] = journal.wait_for(services.store, count=1, timeout=5, platform="datamanager")
    assert (entry["status"], entry["accepted"]) == (200, True)
    [event] = entry["events"]
    assert event["event_id"] == "conv-sdk-1"
    assert event["event_time"] == when.seconds
    assert event["click_id"]["value"] == gclid
    assert event["attribution"]["status"] == "matched"
    # The official client sends enums as integers.
    assert event["raw"]["eventSource"] == 1
