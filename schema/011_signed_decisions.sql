-- 011: signed decisions (issue 15, Art 19). A node below acts only on a
-- grant, revocation or emergency order signed by the ancestor that decided
-- it (lib/wire/decision.h, lib/wire/trust.h).
--
-- nodes.sign_key: a child's Ed25519 signing key (sign.pub, hex), enrolled
-- with its CURVE key (`vigilctl node enroll … --sign-key`); the parent
-- certifies it to the child's own descendants.
ALTER TABLE nodes ADD COLUMN IF NOT EXISTS sign_key text CHECK (sign_key ~ '^[0-9a-f]{64}$');

-- The chain of certificates from the city down to this node, as its parent
-- last sent it and this node checked it from [parent] root_sign_key:
-- position 1 is the city's certificate for its child on the way here, the
-- last this node's own. Kept so that a node restarted while its parent is
-- away still knows whose signatures to accept, and passes the chain on.
CREATE TABLE IF NOT EXISTS trust_chain (
    position    integer PRIMARY KEY CHECK (position >= 1),
    node_id     text NOT NULL CHECK (node_id ~ '^[0-9]{20}$'),
    sign_key    bytea NOT NULL CHECK (length(sign_key) = 32),
    signer      text NOT NULL CHECK (signer ~ '^[0-9]{20}$'),
    signature   bytea NOT NULL CHECK (length(signature) = 64),
    received_at timestamptz NOT NULL DEFAULT now()
);

-- A signed decision kept whole, the bytes its decider signed: what a
-- snapshot sends a child (a district cannot sign for the city, so it
-- passes on the city's own bytes), newest version per decision.
CREATE TABLE IF NOT EXISTS signed_changes (
    kind    text NOT NULL CHECK (kind IN ('grant', 'emergency_order', 'conferral')),
    id      text NOT NULL,
    version bigint NOT NULL,
    change  bytea NOT NULL,
    kept_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, id)
);

-- node_enroll takes the signing key (functions/federation.sql).
DROP FUNCTION IF EXISTS node_enroll(text, text, text, text, text, bigint, bytea, text);
DROP FUNCTION IF EXISTS node_enroll(text, text, text, text, text, text, bigint, bytea, text);
DROP FUNCTION IF EXISTS node_enroll(text, text, text, text, text, bigint, bytea, text, bytea, text);
DROP FUNCTION IF EXISTS view_decide(text, text, text, timestamptz, timestamptz, text, text, text);
