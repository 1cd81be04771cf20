"""What each role may do: one table, read by the one auth dependency.

Sales keys are also *scoped*: they see and change only the leads their rep owns
(`people.owner_id`), those leads' activities and opportunities, and their own queue.
"""

from __future__ import annotations

from enum import StrEnum

from revmachine.services.keys import Role


class Permission(StrEnum):
    PEOPLE_READ = "people:read"
    PEOPLE_WRITE = "people:write"
    ACTIVITIES_READ = "activities:read"
    ACTIVITIES_WRITE = "activities:write"
    ACCOUNTS_READ = "accounts:read"
    ACCOUNTS_WRITE = "accounts:write"
    OPPORTUNITIES_READ = "opportunities:read"
    OPPORTUNITIES_WRITE = "opportunities:write"
    PROGRAMS_READ = "programs:read"  # programs and their costs
    PROGRAMS_WRITE = "programs:write"
    REPS_READ = "reps:read"
    REPS_WRITE = "reps:write"
    MODEL_READ = "model:read"  # the revenue model, its validation, people by stage
    MODEL_PROCESS = "model:process"  # run the revenue model over what is new
    QUEUE = "queue"  # a rep's queue: leads awaiting a decision, accept / reject
    KEYS = "keys"  # list and revoke API keys
    ANALYTICS_READ = "analytics:read"  # funnel, velocity, inventory, cost, cohorts, deals


_READS = frozenset(p for p in Permission if p.value.endswith(":read"))

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.MARKETING: frozenset(Permission)
    - {Permission.KEYS, Permission.QUEUE, Permission.REPS_WRITE},
    Role.SALES: frozenset(
        {
            Permission.PEOPLE_READ,
            Permission.ACTIVITIES_READ,
            Permission.ACTIVITIES_WRITE,
            Permission.OPPORTUNITIES_READ,
            Permission.MODEL_READ,
            Permission.QUEUE,
        }
    ),
    Role.EXECUTIVE: _READS,
}


def allows(role: Role, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[role]
