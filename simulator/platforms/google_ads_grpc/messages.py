"""The protobuf messages of the gRPC mock, built at import from a checked-in descriptor subset.

`google_ads_subset.textproto` is a FileDescriptorSet in protobuf's text format: Google's own
descriptors for ConversionUploadService, pruned. Loading it needs only the `protobuf` runtime
(no protoc, no generated code to match a runtime version, no 170 MB `google-ads` package).
Message names carry one version (v26); the wire format has no names, so the same classes serve
every version, and only `Any.type_url` and metadata keys are written per version.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool, duration_pb2, text_format
from google.protobuf.message_factory import GetMessageClass

SUBSET = Path(__file__).with_name("google_ads_subset.textproto")
PACKAGE = "google.ads.googleads.v26"


@cache
def pool() -> descriptor_pool.DescriptorPool:
    """A private pool: Any and Duration from the protobuf runtime, then the subset's files."""
    files = descriptor_pb2.FileDescriptorSet()
    text_format.Parse(SUBSET.read_text(encoding="utf-8"), files)
    own = descriptor_pool.DescriptorPool()
    for module in (any_pb2, duration_pb2):
        proto = descriptor_pb2.FileDescriptorProto()
        module.DESCRIPTOR.CopyToProto(proto)
        own.Add(proto)
    for proto in files.file:
        own.Add(proto)
    return own


def message(full_name: str) -> Any:
    """The message class for a full name in the subset, e.g. `google.rpc.Status`."""
    return GetMessageClass(pool().FindMessageTypeByName(full_name))


def request_class() -> Any:
    return message(f"{PACKAGE}.services.UploadClickConversionsRequest")


def response_class() -> Any:
    return message(f"{PACKAGE}.services.UploadClickConversionsResponse")


def failure_class() -> Any:
    return message(f"{PACKAGE}.errors.GoogleAdsFailure")


def status_class() -> Any:
    return message("google.rpc.Status")


def retry_info_class() -> Any:
    return message("google.rpc.RetryInfo")


def failure_type_url(version: str) -> str:
    """What `Any.type_url` names a GoogleAdsFailure as in `version` (e.g. v23)."""
    return f"type.googleapis.com/google.ads.googleads.{version}.errors.GoogleAdsFailure"
