"""Renderers: the same report results as Rich tables, JSON, CSV or a self-contained HTML file.

Each takes the typed result objects (or their `tables()`), never the database.
"""

from revmachine.analytics.render.console import print_tables
from revmachine.analytics.render.csvout import write_table_csv
from revmachine.analytics.render.jsonout import to_json, to_plain

__all__ = ["print_tables", "to_json", "to_plain", "write_table_csv"]
