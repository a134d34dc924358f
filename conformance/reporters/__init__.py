"""Reporters render what the runner yields; none of them judges anything."""

from conformance.reporters.console import ConsoleReporter
from conformance.reporters.html import write_html
from conformance.reporters.json_report import report_dict, write_json
from conformance.reporters.junit import write_junit

__all__ = ["ConsoleReporter", "report_dict", "write_html", "write_json", "write_junit"]
