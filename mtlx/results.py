"""Kept only for ``mtlx runs``, which still imports :func:`runs_table` from here; the analysis
lives in :mod:`mtlx.analysis` and the tables in :mod:`mtlx.report.tables`."""

from mtlx.report.tables import runs_table

__all__ = ["runs_table"]
