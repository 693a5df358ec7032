"""The self-contained HTML report of a run directory (`interp report RUN_DIR`)."""

from interp.report.run_report import ReportError, write_report

__all__ = ["ReportError", "write_report"]
