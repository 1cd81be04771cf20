"""The registry of activity types: one visible table of every built-in kind of event.

Custom types are allowed (a workspace may send `custom:partner_portal_login`); they are
recorded in the store's `activity_types` table on first sight so that every type used in
the event log is listed somewhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ActivityType:
    name: str
    label: str
    category: str  # web, email, form, content, event, sales, lifecycle, compliance
    marketo_id: int  # id used by the Marketo-compatible API's activity type list


_BUILTINS: tuple[ActivityType, ...] = (
    ActivityType("web_visit", "Visit web page", "web", 1),
    ActivityType("pricing_page_visit", "Visit pricing page", "web", 101),
    ActivityType("form_fill", "Fill out form", "form", 2),
    ActivityType("email_sent", "Send email", "email", 6),
    ActivityType("email_delivered", "Email delivered", "email", 7),
    ActivityType("email_bounce", "Email bounced", "email", 8),
    ActivityType("email_open", "Open email", "email", 10),
    ActivityType("email_click", "Click email", "email", 11),
    ActivityType("unsubscribe", "Unsubscribe email", "compliance", 9),
    ActivityType("content_download", "Download content", "content", 102),
    ActivityType("webinar_registered", "Register for webinar", "event", 103),
    ActivityType("webinar_attended", "Attend webinar", "event", 104),
    ActivityType("event_attended", "Attend event", "event", 105),
    ActivityType("demo_request", "Request demo", "sales", 106),
    ActivityType("contact_sales", "Contact sales", "sales", 107),
    ActivityType("free_trial_signup", "Start free trial", "sales", 108),
    ActivityType("sales_call", "Sales call", "sales", 109),
    ActivityType("sales_meeting", "Sales meeting", "sales", 110),
    ActivityType("chat", "Chat conversation", "web", 111),
    ActivityType("social_engagement", "Social engagement", "web", 112),
)

BUILTIN_ACTIVITY_TYPES: dict[str, ActivityType] = {t.name: t for t in _BUILTINS}

_CUSTOM_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def normalise_activity_type(text: str) -> str:
    """Canonical spelling: lower snake case ('Web Visit' -> 'web_visit')."""
    return re.sub(r"[\s\-]+", "_", text.strip().lower())


def is_valid_type_name(name: str) -> bool:
    """Custom types follow the same spelling rules as built-ins (lower snake case, <= 63)."""
    return bool(_CUSTOM_NAME.match(name))
