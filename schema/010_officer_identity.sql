-- 010: identity, not text; powers come from above (issue 15, Deliver 1, 2).
-- (Idempotent: a database of the old chain runs the migrations after the
-- baseline over what it has.)
--
-- A badge is unique only at the node that registered it, and officers
-- replicate up only: a grant that names officers by badge alone can be
-- used by anyone an admin below registers under that badge. A request
-- therefore keeps, per officer, the unit and CURVE key the filing node
-- knew when it was filed, the grant carries them down (Grant.named), and
-- the station grants a view only to that unit, badge and key.
ALTER TABLE access_requests ADD COLUMN IF NOT EXISTS officer_units text[],
    ADD COLUMN IF NOT EXISTS officer_keys text[];
ALTER TABLE grants ADD COLUMN IF NOT EXISTS officer_units text[],
    ADD COLUMN IF NOT EXISTS officer_keys text[];

-- Art 19: the roles that approve or declare (principal, commander) are
-- conferred by an admin of the node directly above the officer's unit
-- (officers replicate up, so it knows them), for the officer's key as it
-- knew it; at the city, which has no tier above, by two distinct admins
-- (the first makes it pending, the second live). Kept where conferred
-- (VIA NULL) and at the unit's node (VIA the parent it came from). A
-- newer version revokes; nothing is deleted but by a purge (a removed or
-- re-keyed child, functions/federation.sql).
CREATE TABLE IF NOT EXISTS conferrals (
    id            text PRIMARY KEY,
    version       bigint NOT NULL,
    unit          text NOT NULL CHECK (gbt28181_id(unit)),
    badge         text NOT NULL,
    public_key    text NOT NULL CHECK (public_key ~ '^.{40}$'),
    role          text NOT NULL CHECK (role IN ('principal', 'commander')),
    conferred_by  text[] NOT NULL,             -- admin keys, in the order they acted
    conferred_at  text NOT NULL,               -- the node that conferred it
    valid_until   timestamptz,
    state         text NOT NULL CHECK (state IN ('pending', 'live', 'revoked')),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    via           text,
    dispatched_version bigint,                 -- the last version sent down to the unit
    CONSTRAINT "Art 19: at the city, two distinct admins confer"
        CHECK (state <> 'live' OR conferred_at <> unit OR vigil_distinct_count(conferred_by) >= 2)
);
-- One live or pending conferral of a role per officer.
CREATE UNIQUE INDEX IF NOT EXISTS conferrals_current ON conferrals (unit, badge, role) WHERE state <> 'revoked';

-- An officer replicated from below whose badge or key is already another
-- unit's here is refused and raised as an alarm (never an SQL error,
-- which would stop the child's link; never an overwrite).
ALTER TABLE audit_alarms DROP CONSTRAINT IF EXISTS audit_alarms_kind_check;
ALTER TABLE audit_alarms ADD CONSTRAINT audit_alarms_kind_check
    CHECK (kind IN ('fork', 'gap', 'collision'));

-- Bounds (Art 19) are parameters now: the old signatures go.
DROP FUNCTION IF EXISTS access_decide(text, text, boolean, text, interval);
DROP FUNCTION IF EXISTS delegation_grant(text, text, text, timestamptz, timestamptz, bigint, bytea, text);
DROP FUNCTION IF EXISTS grant_apply(text, text, bigint, text[], text[], text[], timestamptz, timestamptz,
    timestamptz, boolean, text, text, text, text, text, bytea);
DROP FUNCTION IF EXISTS view_decide(text, text, text, timestamptz, timestamptz, text, text);
DROP FUNCTION IF EXISTS node_enroll(text, text, text, text, text, bigint, bytea, text);
