"""Audit records: what LipAlign did on a timeline, kept in the custom data of a timeline marker.

Resolve has no undo API, so every change carries its own way back: the full state of each item before
and after, the measurement that motivated it, and the versions involved. Revert reads these records
back from the markers and nothing else. Clips LipAlign looked at but did not change get a record too
(their outcome, and the colours it replaced), so that one legend explains every colour on the timeline.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from core.version import VERSION

__all__ = ["AUDIT_SCHEMA", "LEGEND", "LEGEND_SCHEMA", "AuditRecord", "ItemState", "Outcome", "audit_records",
           "legend_frame", "legend_json", "legend_note"]

AUDIT_SCHEMA = "lipalign.audit/1"
LEGEND_SCHEMA = "lipalign.legend/1"


@dataclass(frozen=True)
class Outcome:
    """What happened to a clip, and how the timeline shows it: a clip colour (one of the 16 Resolve accepts)
    and a marker colour (a different set: "Cyan" is refused as a clip colour, resolve-api.md §6c)."""

    clip_color: str
    marker_color: str
    meaning: str


# The one legend: every clip LipAlign looked at gets one of these colours and a marker of the other.
LEGEND = {
    "changed": Outcome("Orange", "Purple", "audio moved, re-timed or replaced by corrected audio"),
    "in_sync": Outcome("Green", "Green", "measured in sync: left as it was"),
    "inconclusive": Outcome("Yellow", "Yellow", "could not be measured: left as it was"),
    "check": Outcome("Pink", "Pink", "left as it was, but its sound sits off its picture: check it by eye"),
    "left": Outcome("Violet", "Lavender", "out of sync, left as it was by choice: unticked in the review or under "
                                          "the confidence set for leaving clips to the editor"),
    "skipped": Outcome("Tan", "Sand", "not a clip LipAlign can measure or change yet: left as it was"),
    "missing": Outcome("Chocolate", "Red", "an edit failed and its audio could not be put back: revert restores it"),
}


def legend_note() -> str:
    """The legend marker's note: each colour and what it means."""
    return "; ".join(f"{o.clip_color} clip / {o.marker_color} marker: {o.meaning}" for o in LEGEND.values())


def legend_json(original_name: str, original_id: str) -> str:
    """The legend marker's custom data; it also names the timeline this duplicate was made from."""
    return json.dumps({"schema": LEGEND_SCHEMA, "original": {"name": original_name, "id": original_id}},
                      sort_keys=True)


def legend_frame(markers: dict[Any, dict[str, Any]]) -> Any:
    """The frame of the LipAlign legend among a timeline's markers, or None: a timeline with one is LipAlign's
    duplicate, which later runs edit in place."""
    for frame, marker in markers.items():
        try:
            if json.loads(marker.get("customData") or "null").get("schema") == LEGEND_SCHEMA:
                return frame
        except (AttributeError, json.JSONDecodeError):
            continue
    return None


@dataclass(frozen=True)
class ItemState:
    """One timeline item as far as the API can read it, and so rebuild it.

    ``source_in``/``source_out`` are whole source frames at the clip's rate (``out`` exclusive), as
    ``AppendToTimeline`` takes them; ``media_id`` is the media pool item's unique id. ``speed`` is the
    item's ``Speed`` property in percent where LipAlign read or set it (21.1 and later), else None;
    ``properties`` is what ``GetProperty()`` reports (clip gain and fades from 21.1), ``mapping`` the item's
    ``GetSourceAudioChannelMapping`` (19.0.1), ``flags`` and ``markers`` its own flags and markers.
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
    name: str = ""
    media_path: str = ""
    flags: list[str] = field(default_factory=list)
    markers: dict[str, dict[str, Any]] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)
    mapping: str = ""

    def how_to_restore(self, timeline_start: int) -> str:
        """What an editor does by hand to put this item back (when no revert can)."""
        return (f"append frames {self.source_in}-{self.source_out} of {self.media_path or self.media_id} "
                f"(audio only) at {self.record_start - timeline_start} frames into the timeline on "
                f"{self.track_type[0].upper()}{self.track_index}")


@dataclass(frozen=True)
class AuditRecord:
    """What LipAlign did to one clip's sound. ``before`` lists the items as they were, ``after`` the items that
    replaced or were added to them; ``disabled`` lists items switched off (not deleted); ``added_tracks`` the
    audio tracks created for this change; ``missing`` items deleted whose re-append and restore both failed
    (their full state, for revert); ``recolored`` the colour each item had before LipAlign coloured it by its
    outcome. ``action`` is an edit ("slip", "conform", "speed") or an outcome without one ("in_sync",
    "inconclusive", "check", "skipped"). ``sequence`` orders records across runs (revert undoes the last first).
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
    added_tracks: list[int] = field(default_factory=list)
    rendered_files: list[str] = field(default_factory=list)
    missing: list[ItemState] = field(default_factory=list)
    recolored: dict[str, str] = field(default_factory=dict)
    reason: str = ""
    sequence: int = 0
    resolve_version: str = ""
    lipalign_version: str = VERSION
    schema: str = AUDIT_SCHEMA

    @property
    def outcome(self) -> str:
        if self.missing:
            return "missing"
        return "changed" if self.action in ("slip", "conform", "speed") else self.action

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
        known = {f.name for f in fields(ItemState)}
        try:
            for key in ("before", "after", "missing"):
                data[key] = [ItemState(**{k: v for k, v in s.items() if k in known}) for s in data.get(key, [])]
            return cls(**data)
        except (KeyError, TypeError) as exc:
            raise ValueError(f"damaged {AUDIT_SCHEMA} record ({exc})") from None

    def marker_name(self) -> str:
        return f"LipAlign {self.outcome.replace('_', ' ')}: {self.clip}"[:80]

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
        if m.get("slip_frames") and self.outcome == "changed":
            text += f", moved {m['slip_frames']:+d} frame(s) earlier"
        if self.reason:
            text += f". {self.reason}"
        return text + f". Revert with LipAlign (v{self.lipalign_version})."


def audit_records(markers: dict[Any, dict[str, Any]]) -> list[tuple[Any, AuditRecord]]:
    """The LipAlign records among a timeline's markers (``GetMarkers()``), oldest first.

    Markers of other tools or of the editor, and damaged records, are left out.
    """
    found = []
    for frame, marker in markers.items():
        try:
            found.append((frame, AuditRecord.from_json(marker.get("customData", ""))))
        except ValueError:
            continue
    return sorted(found, key=lambda pair: (pair[1].sequence, float(pair[0])))
