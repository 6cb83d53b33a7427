-- 015: dead letters (issue 17, known fault 1; DESIGN.md "No poison, no
-- stall"). A change a peer sent that this node cannot apply (an SQL error
-- applying it alone, or refused by the checks of its kind, or of a kind
-- this node does not know and cannot forward) is kept here whole, in the
-- transaction that consumes its sequence number (link_accept), so the
-- link goes on and nothing is lost: an admin retries it (`vigilctl
-- deadletter retry`, once the cause is fixed) or discards it with a
-- reason (`deadletter discard`), both on the access log.
CREATE TABLE IF NOT EXISTS dead_letters (
    id               bigserial PRIMARY KEY,
    peer_id          text NOT NULL,               -- the peer that sent it (a child or the parent)
    epoch            text NOT NULL,               -- the peer's outbox epoch ...
    seq              bigint NOT NULL,             -- ... and the change's sequence number in it
    change           bytea NOT NULL,              -- the change as it came (a Change message)
    kind             text,                        -- its kind, if this node knows it
    reason           text NOT NULL,
    held_at          timestamptz NOT NULL DEFAULT now(),
    refused_again_at timestamptz,                 -- the last retry that failed the same way
    state            text NOT NULL DEFAULT 'held' CHECK (state IN ('held', 'retried', 'discarded')),
    decided_by       text,                        -- who retried or discarded it ...
    decided_at       timestamptz,                 -- ... when
    decision         text,                        -- ... and a discard's reason
    CONSTRAINT "a dead letter is held, or decided by someone"
        CHECK ((state = 'held') = (decided_at IS NULL) AND (state = 'held') = (decided_by IS NULL)),
    UNIQUE (peer_id, epoch, seq)
);
CREATE INDEX IF NOT EXISTS dead_letters_held ON dead_letters (peer_id) WHERE state = 'held';

-- officer_apply gained P_EPOCH and P_SEQ (functions/access.sql): a
-- refused officer becomes a dead letter at its position.
DROP FUNCTION IF EXISTS officer_apply(text, text, boolean, text, bigint, boolean, text, text, text, text[], text,
                                      boolean, bytea);
