"""Figures and the self-contained HTML report, rendered from results' `to_dict()`."""

from interp.report.html import ReportError, check_out_dir, figure_png, write_demo_report
from interp.report.run_report import write_report

__all__ = ["ReportError", "check_out_dir", "figure_png", "write_demo_report", "write_report"]
