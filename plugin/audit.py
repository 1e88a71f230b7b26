"""Audit records: what LipAlign changed on a timeline, kept in the custom data of a timeline marker.

Resolve has no undo API, so every change carries its own way back: the state of each item before
and after, the measurement that motivated it, and the versions involved. Revert reads these records
back from the markers and nothing else.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from core.version import VERSION

AUDIT_SCHEMA = "lipalign.audit/1"
MARKER_COLOR = "Purple"
# One of the 16 clip colours Resolve accepts (marker colour names such as "Cyan" are refused).
CLIP_COLOR = "Orange"


@dataclass(frozen=True)
class ItemState:
    """One timeline item as the API can rebuild it: where it sits, what it plays, and how it looks.

    ``source_in``/``source_out`` are whole source frames at the clip's rate (``out`` exclusive), as
    ``AppendToTimeline`` takes them; ``media_id`` is the media pool item's unique id. ``speed`` is the
    item's ``Speed`` property in percent where LipAlign read or set it (21.1 and later), else None.
    """

    item_id: str
    track_type: str
    track_index: int
    record_start: int
    record_end: int
    source_in: int
    source_out: int
    media_id: str
    enabled: bool = True
    color: str = ""
    speed: float | None = None


@dataclass(frozen=True)
class AuditRecord:
    """One applied change. ``before`` lists the items as they were, ``after`` the items that replaced
    or were added to them; ``disabled`` lists items switched off (not deleted); ``added_track`` is the
    audio track LipAlign created for this change, if any.
    """

    action: str
    strategy: str
    clip: str
    video_item_id: str
    media_path: str
    measurement: dict[str, Any]
    before: list[ItemState]
    after: list[ItemState]
    disabled: list[str] = field(default_factory=list)
    added_track: int | None = None
    rendered_file: str | None = None
    resolve_version: str = ""
    lipalign_version: str = VERSION
    schema: str = AUDIT_SCHEMA

    def to_json(self) -> str:
        """Compact JSON for a marker's custom data."""
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> AuditRecord:
        """Parse a marker's custom data.

        Raises
        ------
        ValueError
            The text is not a LipAlign audit record (another tool's marker, or a damaged one).
        """
        try:
            data = json.loads(text)
        except (TypeError, json.JSONDecodeError):
            raise ValueError("not JSON") from None
        if not isinstance(data, dict) or data.get("schema") != AUDIT_SCHEMA:
            raise ValueError(f"not a {AUDIT_SCHEMA} record")
        try:
            data["before"] = [ItemState(**s) for s in data["before"]]
            data["after"] = [ItemState(**s) for s in data["after"]]
            return cls(**data)
        except (KeyError, TypeError) as exc:
            raise ValueError(f"damaged {AUDIT_SCHEMA} record ({exc})") from None

    def marker_name(self) -> str:
        return f"LipAlign {self.action}: {self.clip}"[:80]

    def marker_note(self) -> str:
        """A line an editor can read in the marker: what was measured and what was done."""
        m = self.measurement
        offset = m.get("offset_in_ms")
        drift = m.get("drift_ms_per_min") or 0.0
        text = f"{self.action} ({self.strategy})"
        if offset is not None:
            text += f": audio {'late' if offset > 0 else 'early'} {abs(offset):.1f} ms"
        if drift:
            text += f", drift {drift:+.1f} ms/min"
        if m.get("speed_ratio", 1.0) != 1.0:
            text += f", audio speed x{m['speed_ratio']:.6f}"
        if m.get("slip_frames"):
            text += f", moved {m['slip_frames']:+d} frame(s) earlier"
        return text + f". Revert with LipAlign (v{self.lipalign_version})."


def audit_records(markers: dict[Any, dict[str, Any]]) -> list[tuple[Any, AuditRecord]]:
    """The LipAlign records among a timeline's markers (``GetMarkers()``), in timeline order.

    Markers of other tools or of the editor, and damaged records, are left out.
    """
    found = []
    for frame, marker in markers.items():
        try:
            found.append((frame, AuditRecord.from_json(marker.get("customData", ""))))
        except ValueError:
            continue
    return sorted(found, key=lambda pair: float(pair[0]))
