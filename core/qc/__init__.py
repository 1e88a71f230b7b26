"""Batch QC over folders (``lipalign qc``): find the media, analyse each file once (cached by content),
and report the batch as HTML, CSV and JSON.

In the order data flows: :mod:`~core.qc.discover` finds the media, :mod:`~core.qc.cache` keeps each
result by content hash, settings and version, :mod:`~core.qc.run` analyses what is not cached on a
Dask cluster (local or a studio's), :mod:`~core.qc.model` is the batch's data, and :mod:`~core.qc.html`
and :mod:`~core.qc.table` write it out.
"""
