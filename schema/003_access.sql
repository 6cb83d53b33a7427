-- 003: lawful access (Art 19, 20, 23(5), 29(2)): officers, delegations,
-- access requests, and the grants that carry approved ones down to the
-- cameras' stations. Their functions are in functions/access.sql; the
-- access log every step writes to is 004's.
--
-- Officers are registered at their unit's node and replicate up (like the
-- catalog), so every tier knows the officers beneath it and can check an
-- approver or a named officer. A request is filed, countersigned and
-- decided at the node where it was filed.

CREATE TABLE officers (
    badge         text PRIMARY KEY CHECK (badge ~ '^[A-Za-z0-9._-]{1,32}$'),
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    unit          text NOT NULL CHECK (gbt28181_id(unit)),
    -- Art 20(2): the law-enforcement credential an officer shows.
    credential    text NOT NULL CHECK (length(credential) BETWEEN 1 AND 64),
    roles         text[] NOT NULL CHECK (cardinality(roles) >= 1 AND roles <@ ARRAY['operator', 'investigator',
                      'principal', 'deputy', 'commander', 'registrar', 'auditor', 'admin']),
    public_key    text NOT NULL UNIQUE CHECK (public_key ~ '^.{40}$'),
    active        boolean NOT NULL DEFAULT true,
    version       bigint NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    via           text,
    snapshot_mark boolean NOT NULL DEFAULT false
);

-- Art 19: a principal authorises a deputy to approve, for a time.
CREATE TABLE delegations (
    id            text PRIMARY KEY,
    unit          text NOT NULL CHECK (gbt28181_id(unit)),
    principal     text NOT NULL,
    deputy        text NOT NULL CHECK (deputy <> principal),
    valid_from    timestamptz NOT NULL,
    valid_until   timestamptz NOT NULL CHECK (valid_until > valid_from),
    revoked       boolean NOT NULL DEFAULT false,
    version       bigint NOT NULL,
    via           text,
    snapshot_mark boolean NOT NULL DEFAULT false
);

CREATE TABLE access_requests (
    id              text PRIMARY KEY,
    node_id         text NOT NULL,                -- where it was filed and is decided
    filed_by        text NOT NULL,
    filed_at        timestamptz NOT NULL DEFAULT now(),
    officers        text[] NOT NULL,
    credentials     text[] NOT NULL,              -- as shown when filed, per officer
    case_no         text NOT NULL,
    purpose         text NOT NULL,
    cameras         text[] NOT NULL,
    actions         text[] NOT NULL,
    rec_from        timestamptz,
    rec_to          timestamptz,
    destination     text,
    approval_doc    text NOT NULL,
    state           text NOT NULL DEFAULT 'filed'
                    CHECK (state IN ('filed', 'countersigned', 'approved', 'denied', 'revoked')),
    countersigned_by text,
    countersigned_at timestamptz,
    decided_by      text,
    decided_at      timestamptz,
    reason          text,
    expires_at      timestamptz,
    -- The filing node's record of what it has sent down, per decision.
    grant_version      bigint,                    -- of the decision to send
    dispatched_version bigint,                    -- last one sent
    CONSTRAINT "Art 20(1): at least two distinct officers"
        CHECK (vigil_distinct_count(officers) >= 2 AND cardinality(officers) = cardinality(credentials)),
    CONSTRAINT "Art 20(2): every officer's law-enforcement credential"
        CHECK (vigil_distinct_count(credentials) = cardinality(credentials)),
    CONSTRAINT "Art 20(3): the approval document" CHECK (length(approval_doc) > 0),
    CONSTRAINT "Art 20(4): the form: case, purpose, cameras, actions"
        CHECK (length(case_no) > 0 AND length(purpose) > 0 AND cardinality(cameras) >= 1
               AND cardinality(actions) >= 1
               AND actions <@ ARRAY['view-live', 'view-recorded', 'copy', 'retrieve']),
    CONSTRAINT "Art 20(4): the time range of recorded material"
        CHECK (NOT actions && ARRAY['view-recorded', 'copy', 'retrieve']
               OR (rec_from IS NOT NULL AND rec_to IS NOT NULL AND rec_from < rec_to)),
    CONSTRAINT "Art 20(4): where copies go"
        CHECK (NOT actions && ARRAY['copy', 'retrieve'] OR length(destination) > 0)
);
CREATE INDEX access_requests_state ON access_requests (state, filed_at);
CREATE INDEX access_requests_undispatched ON access_requests (id)
    WHERE grant_version IS DISTINCT FROM dispatched_version;

-- What each step of the workflow answers: ok, or the article refused and
-- why; and the state the request is in.
CREATE TYPE access_answer AS (ok boolean, article text, message text, state text);

-- Approved requests as they reach the nodes below the one that decided.
CREATE TABLE grants (
    request_id     text PRIMARY KEY,
    version        bigint NOT NULL,
    cameras        text[] NOT NULL,
    actions        text[] NOT NULL,
    officers       text[] NOT NULL,
    rec_from       timestamptz,
    rec_to         timestamptz,
    valid_until    timestamptz NOT NULL,
    revoked        boolean NOT NULL DEFAULT false,
    purpose        text,
    destination    text,
    case_no        text,
    approved_by    text,
    filed_at       text,
    received_at    timestamptz NOT NULL DEFAULT now(),
    via            text                     -- the parent it came from (NULL: decided here)
);
CREATE INDEX grants_cameras ON grants USING gin (cameras);

