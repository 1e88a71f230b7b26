"""LipAlign analysis engine: measure and correct lip-sync offset and drift.

The modules follow the order data flows through them: ``probe`` (stream facts),
``decode`` (audio samples and video frames with real timestamps), ``face`` and
``features`` (per-frame mouth measurements, audio features), ``estimate``
(offset and drift), ``diagnose`` (causes), ``correct`` (fixes), ``report``.
Nothing here imports DaVinci Resolve.
"""

from core.version import VERSION as __version__

__all__ = ["__version__"]
