"""The estimator's fitted numbers: the cross-speaker model and the confidence calibration, shipped as JSON.

``fitted_model.json`` beside this module is written by ``benchmarks/fit_estimator.py``, which fits both
parts on the whole corpus with the same grouped cross-validation the benchmark scores
(``benchmarks/estimator.py``), and records what it was fitted on. It holds a few hundred numbers and
is read with numpy alone.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.estimate.confidence import Calibration
from core.estimate.speaker import SpeakerModel

__all__ = ["FITTED_MODEL_PATH", "FittedModel", "load_fitted_model"]

FITTED_MODEL_PATH = Path(__file__).with_name("fitted_model.json")
SCHEMA = "lipalign.estimator-model/1"


@dataclass(frozen=True)
class FittedModel:
    """The cross-speaker model and the calibration of its confidence, with a note of how they were fitted."""

    speaker: SpeakerModel
    calibration: Calibration
    provenance: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "speaker": self.speaker.to_dict(), "calibration": self.calibration.to_dict(),
                "provenance": self.provenance}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FittedModel:
        if data.get("schema") != SCHEMA:
            raise ValueError(f"not a LipAlign estimator model ({data.get('schema')!r}, expected {SCHEMA!r})")
        return cls(SpeakerModel.from_dict(data["speaker"]), Calibration.from_dict(data["calibration"]),
                   dict(data.get("provenance", {})))


@functools.cache
def load_fitted_model(path: Path = FITTED_MODEL_PATH) -> FittedModel:
    """The shipped model (read once per process)."""
    return FittedModel.from_dict(json.loads(path.read_text(encoding="utf-8")))
