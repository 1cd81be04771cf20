"""The HTTP API: native routes under /v1 and a Marketo-compatible subset under /rest/v1.

Edges only: routes parse, call one service, render. `create_app` is the factory.
"""

from revmachine.api.app import create_app
from revmachine.api.settings import ApiSettings

__all__ = ["ApiSettings", "create_app"]
