"""The gRPC mock's checked-in descriptor subset has Google's field numbers, types and enum values in
every version the google-ads library ships, so its bytes are theirs."""

from __future__ import annotations

import importlib
from pathlib import Path

import google.ads.googleads as googleads
import pytest

from simulator.platforms import google_ads_adjust, google_ads_rows
from simulator.platforms.google_ads_grpc import messages

VERSIONS = sorted(p.name for p in Path(googleads.__file__).parent.iterdir()
                  if p.is_dir() and p.name.startswith("v") and p.name[1:].isdigit())
# (module under google.ads.googleads.vNN, message) of each subset message that mirrors Google's
MIRRORED = [
    ("services.types.conversion_upload_service", "UploadClickConversionsRequest"),
    ("services.types.conversion_upload_service", "UploadClickConversionsResponse"),
    ("services.types.conversion_upload_service", "ClickConversion"),
    ("services.types.conversion_upload_service", "ClickConversionResult"),
    ("services.types.conversion_upload_service", "CustomVariable"),
    ("services.types.conversion_adjustment_upload_service", "UploadConversionAdjustmentsRequest"),
    ("services.types.conversion_adjustment_upload_service", "UploadConversionAdjustmentsResponse"),
    ("services.types.conversion_adjustment_upload_service", "ConversionAdjustment"),
    ("services.types.conversion_adjustment_upload_service", "ConversionAdjustmentResult"),
    ("services.types.conversion_adjustment_upload_service", "GclidDateTimePair"),
    ("services.types.conversion_adjustment_upload_service", "RestatementValue"),
    ("common.types.offline_user_data", "UserIdentifier"),
    ("common.types.consent", "Consent"),
    ("errors.types.errors", "GoogleAdsFailure"),
    ("errors.types.errors", "GoogleAdsError"),
    ("errors.types.errors", "ErrorCode"),
    ("errors.types.errors", "ErrorLocation"),
]


def shape(field) -> tuple:
    kind = field.enum_type.full_name.split(".")[-1] if field.enum_type else None
    message = field.message_type.full_name.split(".")[-1] if field.message_type else None
    return (field.number, field.type, field.is_repeated, kind, message)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("module", "name"), MIRRORED, ids=[m[1] for m in MIRRORED])
def test_every_field_of_the_subset_matches_google(version: str, module: str, name: str) -> None:
    ours = messages.pool().FindMessageTypeByName(
        f"{messages.PACKAGE}.{module.split('.')[0]}.{name}")
    theirs = getattr(importlib.import_module(f"google.ads.googleads.{version}.{module}"),
                     name).pb().DESCRIPTOR

    for field in ours.fields:
        assert field.name in theirs.fields_by_name, f"{name}.{field.name} not in {version}"
        assert shape(field) == shape(theirs.fields_by_name[field.name]), f"{name}.{field.name}"
        if field.enum_type:
            google_values = {v.name: v.number for v in
                             theirs.fields_by_name[field.name].enum_type.values}
            for value in field.enum_type.values:  # values newer than `version` are not in it
                assert google_values.get(value.name, value.number) == value.number, value.name


@pytest.mark.parametrize("version", VERSIONS)
def test_every_error_the_mock_sends_exists_in_every_version(version: str) -> None:
    errors = importlib.import_module(f"google.ads.googleads.{version}.errors.types.errors")
    codes = errors.ErrorCode.pb().DESCRIPTOR.fields_by_name
    sent = {"conversion_upload_error": set(google_ads_rows.MESSAGES),
            "date_error": set(google_ads_rows.DATE_MESSAGES),
            "authentication_error": {"AUTHENTICATION_ERROR", "OAUTH_TOKEN_HEADER_INVALID"},
            "request_error": {"DEVELOPER_TOKEN_PARAMETER_MISSING", "RESOURCE_NAME_MALFORMED",
                              "INVALID_CUSTOMER_ID"},
            "partial_failure_error": {"PARTIAL_FAILURE_MODE_REQUIRED"},
            "field_error": {"REQUIRED"},
            "conversion_adjustment_upload_error": set(google_ads_adjust.MESSAGES)}
    for kind, names in sent.items():
        known = {v.name for v in codes[kind].enum_type.values}
        assert names <= known, f"{kind} in {version}: {sorted(names - known)}"
