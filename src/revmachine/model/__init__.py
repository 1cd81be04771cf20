"""Domain vocabulary shared by every layer: activity types, channels, timestamps, emails.

Nothing here touches a database, the network or the clock.
"""

from revmachine.model.activity_types import BUILTIN_ACTIVITY_TYPES, ActivityType
from revmachine.model.channels import Channel
from revmachine.model.emails import EmailError, normalise_email
from revmachine.model.timestamps import TimestampError, parse_timestamp, to_utc

__all__ = [
    "BUILTIN_ACTIVITY_TYPES",
    "ActivityType",
    "Channel",
    "EmailError",
    "TimestampError",
    "normalise_email",
    "parse_timestamp",
    "to_utc",
]
