"""Imports: one service per kind, all with the same contract (see `common.ImportReport`).

Each runs in one transaction: a file-level problem raises `FileRejected` before anything is
written; row problems are reported with line and reason while the good rows go in.
"""

from revmachine.services.imports.activities import import_activities
from revmachine.services.imports.common import Importer, ImportReport
from revmachine.services.imports.decisions import import_decisions
from revmachine.services.imports.opportunities import import_opportunities
from revmachine.services.imports.people import import_people
from revmachine.services.imports.records import (
    import_accounts,
    import_costs,
    import_programs,
    import_reps,
)

IMPORTERS: dict[str, Importer] = {
    "people": import_people,
    "accounts": import_accounts,
    "activities": import_activities,
    "opportunities": import_opportunities,
    "costs": import_costs,
    "programs": import_programs,
    "reps": import_reps,
    "decisions": import_decisions,
}

__all__ = [
    "IMPORTERS",
    "ImportReport",
    "Importer",
    "import_accounts",
    "import_activities",
    "import_costs",
    "import_decisions",
    "import_opportunities",
    "import_people",
    "import_programs",
    "import_reps",
]
