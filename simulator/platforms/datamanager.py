"""Mock Google Data Manager API: `POST /datamanager/v1/events:ingest`.

Mirrors https://datamanager.googleapis.com/v1/events:ingest [official: ingestion_service.proto;
platform-rules.md section 5]. The view reads, plays any armed fault, hands the request to
`google_datamanager_ingest`, and journals the answer; the analyser diagnoses the entry after
(attribution findings), as Google matches clicks after it answered.
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from simulator.platforms import google_datamanager_ingest, google_errors, intake
from simulator.services import services

bp = Blueprint("datamanager", __name__, url_prefix="/datamanager")


@bp.post("/v1/events:ingest")
def ingest_events() -> Response:
    """Answer like IngestionService.IngestEvents."""
    svc = services()
    got = intake.read(request, platform="datamanager", api="ingest")
    faulted = intake.play_fault(svc, got, google_errors.fault_body)
    if faulted is not None:
        return faulted
    outcome = google_datamanager_ingest.handle(headers=got.headers, body_text=got.body)
    return intake.respond(svc, got, outcome.status, outcome.body, findings=outcome.findings,
                          accepted=outcome.accepted, recipe=outcome.recipe, keys=outcome.keys)
