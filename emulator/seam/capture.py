"""What an endpoint's DataCaptureConfig asks the front's workers to capture, as the serving spec carries it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CaptureSpec:
    destination: str  # DestinationS3Uri: files go under <destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/
    percentage: float  # InitialSamplingPercentage: the share of invocations captured, 0 to 100
    inputs: bool  # CaptureOptions holds Input
    outputs: bool  # CaptureOptions holds Output
    csv_types: tuple[str, ...] = ()  # CaptureContentTypeHeader.CsvContentTypes: captured as text, encoding CSV
    json_types: tuple[str, ...] = ()  # CaptureContentTypeHeader.JsonContentTypes: captured as text, encoding JSON

    @classmethod
    def of(cls, config: dict[str, Any] | None) -> "CaptureSpec | None":
        """The spec of a DataCaptureConfig as CreateEndpointConfig took it; None when it captures nothing."""
        if not config or not config.get("EnableCapture", True):
            return None
        modes = {option["CaptureMode"] for option in config.get("CaptureOptions", [])}
        header = config.get("CaptureContentTypeHeader") or {}
        return cls(config["DestinationS3Uri"], float(config["InitialSamplingPercentage"]),
                   bool(modes & {"Input", "InputAndOutput"}), bool(modes & {"Output", "InputAndOutput"}), tuple(header.get("CsvContentTypes", ())), tuple(header.get("JsonContentTypes", ())))

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "CaptureSpec | None":
        """From the spec's JSON form (dataclasses.asdict)."""
        if data is None:
            return None
        return cls(**{**data, "csv_types": tuple(data["csv_types"]), "json_types": tuple(data["json_types"])})
