"""Reads behind the API: filtered, keyset-paged lists and single records, as plain dicts.

Every list is ordered by id and continues after the last id seen (`after`), so a client
paging through it neither skips nor repeats rows while others write. `owner_id` limits a
read to one rep's leads (the sales role); None reads everything.
"""

from revmachine.services.queries.activities import activity_feed, activity_type_names
from revmachine.services.queries.people import (
    PeopleFilter,
    find_people,
    get_person,
    people_by_stage,
    people_matching,
    person_id_for,
    score_history,
    stage_history,
)
from revmachine.services.queries.records import (
    get_opportunity,
    list_accounts,
    list_costs,
    list_opportunities,
    list_programs,
    list_reps,
)

__all__ = [
    "PeopleFilter",
    "activity_feed",
    "activity_type_names",
    "find_people",
    "get_opportunity",
    "get_person",
    "list_accounts",
    "list_costs",
    "list_opportunities",
    "list_programs",
    "list_reps",
    "people_by_stage",
    "people_matching",
    "person_id_for",
    "score_history",
    "stage_history",
]
