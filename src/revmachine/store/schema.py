"""The revenue event store: SQLAlchemy Core tables, the one definition of the schema.

Principles (docs/architecture.md): events are append-only (`activities`, `person_changes`,
`opportunity_history`, `stage_transitions`, `score_changes`); the rows of `people`,
`accounts` and `opportunities` are current state that the history tables let us roll back
to any `as_of` time. Schema changes go through Alembic migrations in `migrations/`, whose
first revision creates exactly these tables; a test checks the two never drift apart.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from revmachine.store.types import BigId, JSONDoc, UTCDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

sales_teams = Table(
    "sales_teams",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("region", String(100)),
    Column("created_at", UTCDateTime, nullable=False),
)

sales_reps = Table(
    "sales_reps",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("team_id", ForeignKey("sales_teams.id"), index=True),
    Column("role", String(20), nullable=False, server_default="rep"),
    Column("territory", String(100)),
    Column("capacity", Integer),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("role in ('rep', 'lead', 'manager')", name="role"),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("domain", String(253), unique=True),
    Column("name", String(200), nullable=False),
    Column("name_key", String(200), nullable=False, index=True),
    Column("industry", String(100)),
    Column("employee_count", Integer),
    Column("annual_revenue", Numeric(18, 2)),
    Column("segment", String(50)),
    Column("country", String(100)),
    Column("owner_id", ForeignKey("sales_reps.id"), index=True),
    Column("attributes", JSONDoc, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

programs = Table(
    "programs",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("channel", String(40), nullable=False, index=True),
    Column("start_date", Date),
    Column("end_date", Date),
    Column("attributes", JSONDoc, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

program_costs = Table(
    "program_costs",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("program_id", ForeignKey("programs.id"), nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("amount", Numeric(16, 2), nullable=False),
    Column("currency", String(3), nullable=False, server_default="USD"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("program_id", "period_start", "period_end"),
    CheckConstraint("period_end >= period_start", name="period_order"),
)

people = Table(
    "people",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("first_name", String(100)),
    Column("last_name", String(100)),
    Column("title", String(200)),
    Column("seniority", String(50)),
    Column("company", String(200)),
    Column("account_id", ForeignKey("accounts.id"), index=True),
    Column("industry", String(100)),
    Column("employee_count", Integer),
    Column("country", String(100)),
    Column("lead_source", String(100)),
    Column("acquisition_program_id", ForeignKey("programs.id"), index=True),
    Column("email_opt_in", Boolean),
    Column("unsubscribed", Boolean, nullable=False, server_default="0"),
    Column("owner_id", ForeignKey("sales_reps.id"), index=True),
    Column("attributes", JSONDoc, nullable=False),
    # When each field last changed (the record's own timestamp, not the import's): merges
    # are last-writer-wins per field so that import order does not change the result.
    Column("field_times", JSONDoc, nullable=False),
    Column("created_at", UTCDateTime, nullable=False, index=True),
    Column("updated_at", UTCDateTime, nullable=False),
)

person_changes = Table(
    "person_changes",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("person_id", ForeignKey("people.id"), nullable=False),
    Column("field", String(100), nullable=False),
    Column("old_value", JSONDoc),
    Column("new_value", JSONDoc),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("source", String(100), nullable=False),
    Index(None, "person_id", "occurred_at"),
)

program_members = Table(
    "program_members",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("program_id", ForeignKey("programs.id"), nullable=False),
    Column("person_id", ForeignKey("people.id"), nullable=False, index=True),
    Column("status", String(40), nullable=False),
    Column("first_touch_at", UTCDateTime, nullable=False),
    UniqueConstraint("program_id", "person_id"),
)

activity_types = Table(
    "activity_types",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("label", String(200), nullable=False),
    Column("category", String(40), nullable=False),
    Column("builtin", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

activities = Table(
    "activities",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("event_id", String(128), nullable=False, unique=True),
    Column("person_id", ForeignKey("people.id"), nullable=False),
    Column("type", String(64), nullable=False),
    Column("program_id", ForeignKey("programs.id")),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("attributes", JSONDoc),
    Index("ix_activities_person_time", "person_id", "occurred_at"),
)

opportunities = Table(
    "opportunities",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("external_id", String(128), nullable=False, unique=True),
    Column("name", String(300)),
    Column("account_id", ForeignKey("accounts.id"), index=True),
    Column("amount", Numeric(16, 2)),
    Column("currency", String(3), nullable=False, server_default="USD"),
    Column("stage", String(100)),
    Column("status", String(10), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("close_date", Date),
    Column("closed_at", UTCDateTime),
    Column("owner_id", ForeignKey("sales_reps.id"), index=True),
    Column("lost_reason", String(200)),
    Column("product", String(200)),
    Column("attributes", JSONDoc, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("status in ('open', 'won', 'lost')", name="status"),
)

opportunity_contacts = Table(
    "opportunity_contacts",
    metadata,
    Column("opportunity_id", ForeignKey("opportunities.id"), primary_key=True),
    Column("person_id", ForeignKey("people.id"), primary_key=True, index=True),
    Column("role", String(100)),
    Column("is_primary", Boolean, nullable=False, server_default="0"),
)

opportunity_history = Table(
    "opportunity_history",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("opportunity_id", ForeignKey("opportunities.id"), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("stage", String(100)),
    Column("status", String(10), nullable=False),
    Column("amount", Numeric(16, 2)),
    Column("close_date", Date),
    Column("source", String(100), nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Index(None, "opportunity_id", "occurred_at"),
)

stage_transitions = Table(
    "stage_transitions",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("person_id", ForeignKey("people.id"), nullable=False),
    Column("from_stage", String(64)),
    Column("to_stage", String(64), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("reason", Text, nullable=False),
    Column("rule", String(200)),
    Column("model_version", String(64)),
    Column("recorded_at", UTCDateTime, nullable=False),
    Index(None, "person_id", "occurred_at"),
    Index(None, "to_stage", "occurred_at"),
)

#: A derived copy of `stage_transitions` shaped for the reports (see `store/spells.py`): one
#: row per transition, times as integer microseconds, and what the reports would otherwise
#: compute with window functions over the whole history (the row's place in the person's
#: history, when the spell ended, the person's previous entry into the same stage). Written
#: in the same transaction as the transitions; `rebuild_spells` recomputes it from them.
stage_spells = Table(
    "stage_spells",
    metadata,
    Column("id", BigId, primary_key=True),  # the stage_transitions row
    Column("person_id", BigId, nullable=False),
    Column("stage", String(64), nullable=False),
    Column("entered_us", BigInteger, nullable=False),
    Column("left_us", BigInteger),  # the person's next transition; NULL while open
    Column("next_stage", String(64)),  # that transition's stage; NULL while open
    Column("prev_us", BigInteger),  # the person's previous entry into this stage
    Column("first_us", BigInteger, nullable=False),  # the person's first transition
    Column("step", Integer, nullable=False),  # 1, 2, … in (occurred_at, id) order
    Index(None, "stage", "entered_us", "prev_us", "person_id"),
    Index(None, "person_id", "stage", "entered_us", "prev_us"),
    Index(None, "left_us", "entered_us", "stage", "person_id"),
    Index(None, "first_us", "person_id", "step", "stage"),
    # the forecast's inputs (analytics/forecast_inputs.py, migration 0005b): spells open
    # at a time per stage, from the index alone
    Index(None, "stage", "entered_us", "left_us", "step"),
)

score_changes = Table(
    "score_changes",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("person_id", ForeignKey("people.id"), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("fit", Float, nullable=False),
    Column("behavior", Float, nullable=False),
    Column("total", Float, nullable=False),
    Column("reason", Text, nullable=False),
    Column("rule", String(200)),
    Column("model_version", String(64)),
    Column("recorded_at", UTCDateTime, nullable=False),
    Index(None, "person_id", "occurred_at"),
)

import_runs = Table(
    "import_runs",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("kind", String(40), nullable=False),
    Column("source_name", String(500), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("inserted", Integer, nullable=False, server_default="0"),
    Column("updated", Integer, nullable=False, server_default="0"),
    Column("unchanged", Integer, nullable=False, server_default="0"),
    Column("rejected", Integer, nullable=False, server_default="0"),
)

import_rejections = Table(
    "import_rejections",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("run_id", ForeignKey("import_runs.id"), nullable=False, index=True),
    Column("line", Integer, nullable=False),
    Column("code", String(40), nullable=False),
    Column("field", String(100)),
    Column("message", Text, nullable=False),
)

# The revenue model's working state (issue: revenue model). `journey_states` is a cache of
# history, one row per person: what the engines need to continue (the JSON `state`), plus
# the current stage and score in columns so that queues and inventories are plain queries.
journey_states = Table(
    "journey_states",
    metadata,
    Column("person_id", ForeignKey("people.id"), primary_key=True),
    Column("model_version", String(64), nullable=False),
    Column("stage", String(64)),
    Column("stage_entered_at", UTCDateTime),
    Column("fit", Float, nullable=False),
    Column("behavior", Float, nullable=False),
    Column("total", Float, nullable=False),
    Column("scored_at", UTCDateTime),
    Column("next_timer_at", UTCDateTime, index=True),
    Column("state", JSONDoc, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index(None, "stage", "total"),
)

# Every model version that was ever live, with when it took over and what changed.
model_versions = Table(
    "model_versions",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("version", String(64), nullable=False, index=True),
    Column("previous_version", String(64)),
    Column("adopted_at", UTCDateTime, nullable=False),
    Column("diff", Text, nullable=False),
    Column("content", JSONDoc, nullable=False),
)

# Sales' accept/reject of a lead: an input of the revenue model, append-only.
sales_decisions = Table(
    "sales_decisions",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("event_id", String(128), nullable=False, unique=True),
    Column("person_id", ForeignKey("people.id"), nullable=False),
    Column("decision", String(10), nullable=False),
    Column("reason", String(100)),
    Column("rep_id", ForeignKey("sales_reps.id")),
    Column("note", Text),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("source", String(100), nullable=False),
    CheckConstraint("decision in ('accept', 'reject')", name="decision"),
    Index(None, "person_id", "occurred_at"),
)

# How far processing has read each input table (by row id), so a run only looks at what is
# new since the last one.
processing_cursors = Table(
    "processing_cursors",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("position", BigId, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# ---- Sales hand-off (issue 8: routing, queues, SLAs, webhooks) — migration 0003a ----------

# Every assignment of a lead, append-only: routed, reassigned on an SLA breach, or by hand.
# `stage_entered_at` names the hand-off episode (the person's entry into the routed stage).
lead_assignments = Table(
    "lead_assignments",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("person_id", ForeignKey("people.id"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("rep_id", ForeignKey("sales_reps.id"), index=True),
    Column("team_id", ForeignKey("sales_teams.id")),
    Column("queue", String(64)),
    Column("rule", String(200), nullable=False),
    Column("reason", Text, nullable=False),
    Column("routing_version", String(64), nullable=False),
    Column("stage", String(64), nullable=False),
    Column("stage_entered_at", UTCDateTime, nullable=False),
    Column("by_rep_id", ForeignKey("sales_reps.id")),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    CheckConstraint("kind in ('routed', 'reassigned', 'manual')", name="kind"),
    Index(None, "person_id", "occurred_at"),
)

# The current hand-off of each person (a cache of the assignments and decisions above):
# who holds the lead, since when, when its SLA falls due, and whether it is still open.
handoff_leads = Table(
    "handoff_leads",
    metadata,
    Column("person_id", ForeignKey("people.id"), primary_key=True),
    Column("stage", String(64), nullable=False),
    Column("entered_at", UTCDateTime, nullable=False),
    Column("assignment_id", ForeignKey("lead_assignments.id"), nullable=False),
    Column("rep_id", ForeignKey("sales_reps.id"), index=True),
    Column("team_id", ForeignKey("sales_teams.id")),
    Column("queue", String(64)),
    Column("assigned_at", UTCDateTime, nullable=False),
    Column("due_at", UTCDateTime, index=True),
    Column("status", String(12), nullable=False),
    Column("closed_at", UTCDateTime),
    Column("outcome", String(100)),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("status in ('open', 'accepted', 'rejected', 'closed')", name="status"),
)

# SLA breaches, append-only: at most one per assignment, with what the escalation did.
sla_breaches = Table(
    "sla_breaches",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("person_id", ForeignKey("people.id"), nullable=False, index=True),
    Column("assignment_id", ForeignKey("lead_assignments.id"), nullable=False, unique=True),
    Column("rep_id", ForeignKey("sales_reps.id"), index=True),
    Column("team_id", ForeignKey("sales_teams.id")),
    Column("stage", String(64), nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("action", String(20), nullable=False),
    Column("escalated_to_id", ForeignKey("sales_reps.id")),
    Column("reassignment_id", ForeignKey("lead_assignments.id")),
    Column("reason", Text, nullable=False),
    Column("detected_at", UTCDateTime, nullable=False),
    CheckConstraint("action in ('reassign', 'flag')", name="action"),
)

# Outgoing webhooks, written in the transaction of the decision that causes them and
# delivered at least once by a worker (a claim with a lease; a crash re-sends).
webhook_outbox = Table(
    "webhook_outbox",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("idempotency_key", String(200), nullable=False),
    Column("endpoint", String(64), nullable=False),
    Column("url", Text, nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("payload", JSONDoc, nullable=False),
    Column("status", String(12), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("max_attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("claimed_until", UTCDateTime),
    Column("claim", String(64)),
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("delivered_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("idempotency_key", "endpoint"),
    CheckConstraint("status in ('pending', 'delivered', 'dead')", name="status"),
    Index(None, "status", "next_attempt_at"),
)


# ---- HTTP API (issue 7: migration 0003b) -------------------------------------------------
# Who may call the API, the short-lived tokens the Marketo-style client-credentials flow
# hands out, the responses kept for `Idempotency-Key` retries, and the numeric ids that the
# Marketo-compatible API gives custom activity types. Secrets and tokens are stored only as
# SHA-256 hashes: they are 256-bit random values, so a fast hash is as safe as a slow one.
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("client_id", String(64), nullable=False, unique=True),
    Column("secret_hash", String(64), nullable=False, unique=True),
    Column("name", String(100), nullable=False),
    Column("role", String(20), nullable=False),
    Column("rep_id", ForeignKey("sales_reps.id"), index=True),
    Column("rate_per_minute", Integer),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
    CheckConstraint("role in ('admin', 'marketing', 'sales', 'executive')", name="role"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("key_id", ForeignKey("api_keys.id"), nullable=False, index=True),
    Column("issued_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
)

idempotency_records = Table(
    "idempotency_records",
    metadata,
    Column("key_id", ForeignKey("api_keys.id"), primary_key=True),
    Column("idempotency_key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    # NULL while the first request is still running.
    Column("status_code", Integer),
    Column("content_type", String(100)),
    Column("body", LargeBinary),
    Column("created_at", UTCDateTime, nullable=False, index=True),
    Column("completed_at", UTCDateTime),
)

api_activity_types = Table(
    "api_activity_types",
    metadata,
    # The Marketo-compatible id of a custom type is 100000 + id (built-ins keep theirs).
    Column("id", BigId, primary_key=True),
    Column("name", ForeignKey("activity_types.name"), nullable=False, unique=True),
    Column("primary_attribute", String(100), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# --- predict (issue 9) ---------------------------------------------------------------------
# Predictive scoring: every trained model, versioned (the id is the version), with what it
# was trained on and how it did; and every scoring run's probabilities.
prediction_models = Table(
    "prediction_models",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("target", String(64), nullable=False),
    Column("horizon_days", Integer, nullable=False),
    Column("algorithm", String(40), nullable=False),
    Column("trained_at", UTCDateTime, nullable=False),
    # The training window: the first and last training cut-offs, then the cut-offs of the
    # calibration and validation parts (each with labels up to cut-off + horizon).
    Column("train_from", UTCDateTime, nullable=False),
    Column("train_to", UTCDateTime, nullable=False),
    Column("calibrated_at", UTCDateTime, nullable=False),
    Column("validated_at", UTCDateTime, nullable=False),
    Column("features", JSONDoc, nullable=False),
    Column("metrics", JSONDoc, nullable=False),
    Column("content", JSONDoc, nullable=False),
    Index(None, "target", "trained_at"),
)

# Every scoring run's predictions, kept (append-only): a prediction as of T is what scoring
# rules (`predicted.probability`, `predicted.decile`) and segments read from T on, so replays
# and reports as of a past time see the prediction that was in effect then; the rep queue
# and routing read each person's latest. The id is the revenue cycle's cursor. Decile 10
# holds the likeliest tenth of the people scored in a run. (Migration 0004c replaced the
# one-row-per-person `predictions` table: a second copy of the latest run cost a fifth
# more write time per scoring run for what the `(person_id, as_of)` index reads anyway.)
prediction_history = Table(
    "prediction_history",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("person_id", ForeignKey("people.id"), nullable=False),
    Column("model_id", ForeignKey("prediction_models.id"), nullable=False),
    Column("probability", Float, nullable=False),
    Column("decile", Integer, nullable=False),
    Column("as_of", UTCDateTime, nullable=False),
    Column("scored_at", UTCDateTime, nullable=False),
    Index(None, "person_id", "as_of"),
)
# --- end predict ---------------------------------------------------------------------------
