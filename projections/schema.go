package projections

// SchemaVersion is the version of the read model's schema this code
// writes. Open migrates an older file forward and refuses a newer one.
const SchemaVersion = 1

// migrations[i] takes the schema from version i to version i+1. Each runs
// in the same transaction as the schema_version update that records it.
//
// Conventions: times are fixed-width RFC 3339 UTC with nanoseconds
// ("2024-03-31T09:00:00.000000000Z", so that text order is time order; ""
// when unset); dates are "YYYY-MM-DD" ("" when unset); booleans are 0/1;
// lists are JSON arrays. A RAG of "" means "not yet rated".
//
// Foreign keys are only declared where the projector itself guarantees
// them (child rows of a row it writes): a projection must never refuse an
// event the stream has accepted, so nothing references another aggregate.
var migrations = []string{
	// 0 → 1
	`
CREATE TABLE checkpoint (
	id       INTEGER PRIMARY KEY CHECK (id = 1),
	sequence INTEGER NOT NULL CHECK (sequence >= 0) -- last applied stream sequence
);
INSERT INTO checkpoint (id, sequence) VALUES (1, 0);

CREATE TABLE events (
	sequence        INTEGER PRIMARY KEY,   -- stream sequence
	event_id        TEXT    NOT NULL UNIQUE,
	plan            TEXT    NOT NULL,
	aggregate_type  TEXT    NOT NULL,
	aggregate_id    TEXT    NOT NULL,
	type            TEXT    NOT NULL,
	subject         TEXT    NOT NULL,      -- NATS subject
	schema_version  INTEGER NOT NULL,
	occurred_at     TEXT    NOT NULL,      -- business time
	recorded_at     TEXT    NOT NULL,      -- system time
	actor_id        TEXT    NOT NULL,
	actor_name      TEXT    NOT NULL,
	actor_role      TEXT    NOT NULL,
	correlation_id  TEXT    NOT NULL,
	known           INTEGER NOT NULL,      -- 0: a type this code does not know; no state projected
	-- readable history, computed when the event is applied
	subject_ref     TEXT    NOT NULL,      -- action ref or indicator name
	"before"        TEXT    NOT NULL,
	"after"         TEXT    NOT NULL,
	reason          TEXT    NOT NULL,
	reason_category TEXT    NOT NULL,
	commentary      TEXT    NOT NULL,
	summary         TEXT    NOT NULL,
	raw             BLOB    NOT NULL       -- the exact stored bytes
);
CREATE INDEX events_by_aggregate   ON events (aggregate_type, aggregate_id, sequence);
CREATE INDEX events_by_plan        ON events (plan, sequence);
CREATE INDEX events_by_plan_type   ON events (plan, type, sequence);
CREATE INDEX events_by_actor       ON events (actor_id, sequence);
CREATE INDEX events_by_correlation ON events (correlation_id);

CREATE TABLE plans (
	slug       TEXT    PRIMARY KEY,
	id         TEXT    NOT NULL,           -- aggregate id
	title      TEXT    NOT NULL,
	rag_scheme TEXT    NOT NULL,           -- JSON: the plan's RAG table as published
	version    INTEGER NOT NULL,
	created_at TEXT    NOT NULL,
	updated_at TEXT    NOT NULL
);

CREATE TABLE reporting_periods (
	plan       TEXT    NOT NULL REFERENCES plans (slug) ON DELETE CASCADE,
	position   INTEGER NOT NULL,
	label      TEXT    NOT NULL,
	date       TEXT    NOT NULL,
	rag_counts TEXT    NOT NULL,           -- JSON: code ("" = not yet rated) → count
	PRIMARY KEY (plan, position)
) WITHOUT ROWID;

CREATE TABLE plan_versions (
	plan     TEXT    NOT NULL REFERENCES plans (slug) ON DELETE CASCADE,
	position INTEGER NOT NULL,
	version  TEXT    NOT NULL,
	note     TEXT    NOT NULL,
	date     TEXT    NOT NULL,
	PRIMARY KEY (plan, position)
) WITHOUT ROWID;

CREATE TABLE priorities (
	id                 TEXT    PRIMARY KEY,
	plan               TEXT    NOT NULL,
	number             TEXT    NOT NULL,
	number_sort        TEXT    NOT NULL,   -- numeric order key
	title              TEXT    NOT NULL,
	summary            TEXT    NOT NULL,
	parent_carer_voice TEXT    NOT NULL,
	version            INTEGER NOT NULL,
	created_at         TEXT    NOT NULL,
	updated_at         TEXT    NOT NULL,
	UNIQUE (plan, number)
);
CREATE INDEX priorities_in_order ON priorities (plan, number_sort);

CREATE TABLE actions (
	id                TEXT    PRIMARY KEY,
	plan              TEXT    NOT NULL,
	ref               TEXT    NOT NULL,
	ref_sort          TEXT    NOT NULL,    -- numeric order key: 1.2 < 1.10 < 2.1
	priority          TEXT    NOT NULL,
	origin            TEXT    NOT NULL,
	text              TEXT    NOT NULL,
	leads             TEXT    NOT NULL,    -- JSON [{name, role, organisation}]
	leads_raw         TEXT    NOT NULL,    -- the lead cell as first written
	leads_raw_folded  TEXT    NOT NULL,    -- lower case, spacing folded, for substring search
	deadline          TEXT    NOT NULL,
	original_deadline TEXT    NOT NULL,
	deadline_raw      TEXT    NOT NULL,
	milestones        TEXT    NOT NULL,    -- JSON [{date, text}]
	rag               TEXT    NOT NULL,
	rag_raw           TEXT    NOT NULL,
	trend             TEXT    NOT NULL,
	success_measures  TEXT    NOT NULL,
	progress          TEXT    NOT NULL,
	impact            TEXT    NOT NULL,
	flags             TEXT    NOT NULL,    -- JSON [{field, raw, message}]: open import flags
	flagged           INTEGER NOT NULL,
	withdrawn         INTEGER NOT NULL,
	withdrawn_reason  TEXT    NOT NULL,
	deadline_moves    INTEGER NOT NULL,
	version           INTEGER NOT NULL,
	created_at        TEXT    NOT NULL,
	updated_at        TEXT    NOT NULL,    -- business time of the last change
	UNIQUE (plan, ref)
);
CREATE INDEX actions_in_order    ON actions (plan, ref_sort);
CREATE INDEX actions_by_priority ON actions (plan, priority, ref_sort);
CREATE INDEX actions_by_rag      ON actions (plan, rag);
CREATE INDEX actions_by_deadline ON actions (plan, deadline) WHERE withdrawn = 0;
CREATE INDEX actions_flagged     ON actions (plan, ref_sort) WHERE flagged = 1;

CREATE TABLE action_leads (
	action_id    TEXT    NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
	position     INTEGER NOT NULL,
	name         TEXT    NOT NULL,
	name_folded  TEXT    NOT NULL,         -- lower case, spacing folded
	role         TEXT    NOT NULL,
	organisation TEXT    NOT NULL,
	PRIMARY KEY (action_id, position)
) WITHOUT ROWID;
CREATE INDEX action_leads_by_name ON action_leads (name_folded);

CREATE TABLE kpis (
	id          TEXT    PRIMARY KEY,
	plan        TEXT    NOT NULL,
	priority    TEXT    NOT NULL,
	name        TEXT    NOT NULL,
	direction   TEXT    NOT NULL,          -- up, down or ""
	target      TEXT    NOT NULL,
	national    TEXT    NOT NULL,
	defined_seq INTEGER NOT NULL,          -- stream sequence of the definition: plan order
	version     INTEGER NOT NULL,
	created_at  TEXT    NOT NULL,
	updated_at  TEXT    NOT NULL
);
CREATE INDEX kpis_in_order ON kpis (plan, defined_seq);
CREATE INDEX kpis_by_priority ON kpis (plan, priority, defined_seq);

CREATE TABLE kpi_values (
	kpi_id      TEXT    NOT NULL REFERENCES kpis (id) ON DELETE CASCADE,
	period      TEXT    NOT NULL,
	position    INTEGER NOT NULL,          -- order first recorded
	value       TEXT    NOT NULL,          -- as written
	corrected   INTEGER NOT NULL,
	corrections INTEGER NOT NULL,
	first_value TEXT    NOT NULL,          -- the value first recorded
	PRIMARY KEY (kpi_id, period)
) WITHOUT ROWID;

CREATE TABLE tokens (
	token_id   TEXT    PRIMARY KEY,
	principal  TEXT    NOT NULL,
	name       TEXT    NOT NULL,
	role       TEXT    NOT NULL,
	plan       TEXT    NOT NULL,           -- "*" for every plan
	lead_name  TEXT    NOT NULL,
	hash       TEXT    NOT NULL UNIQUE,    -- hex SHA-256 of the secret
	expires_at TEXT    NOT NULL,
	revoked    INTEGER NOT NULL,
	issued_at  TEXT    NOT NULL,
	version    INTEGER NOT NULL,
	updated_at TEXT    NOT NULL
);

CREATE TABLE webhooks (
	webhook_id TEXT    PRIMARY KEY,
	plan       TEXT    NOT NULL,
	url        TEXT    NOT NULL,
	types      TEXT    NOT NULL,           -- JSON list of event types; [] = all
	secret_ref TEXT    NOT NULL,
	removed    INTEGER NOT NULL,
	version    INTEGER NOT NULL,
	created_at TEXT    NOT NULL,
	updated_at TEXT    NOT NULL
);
CREATE INDEX webhooks_by_plan ON webhooks (plan) WHERE removed = 0;
`,
}
