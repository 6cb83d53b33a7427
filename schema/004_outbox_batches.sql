-- 004: an outbox row holds a batch of consecutive changes.
--
-- One row per change cost each change a heap tuple, an index entry, a WAL
-- record for each, and the same again to delete it once acknowledged: at a
-- station importing a million cameras, and at its district forwarding them,
-- that was a quarter of the database's work (tests/bench/catalog-sync). A
-- row now carries the changes one statement appended, sequences seq ..
-- last_seq; the sender reads rows by last_seq and sends from the change it
-- needs, and deletes a row once its last change is acknowledged. Sequence
-- numbers, and so everything DESIGN.md "Delivery" says, are unchanged.

ALTER INDEX outbox_pkey RENAME TO outbox_old_pkey;
ALTER TABLE outbox RENAME TO outbox_old;

CREATE TABLE outbox (
    peer_id    text NOT NULL,
    last_seq   bigint NOT NULL,
    seq        bigint NOT NULL,    -- the first change's sequence
    changes    bytea[] NOT NULL CHECK (cardinality(changes) = last_seq - seq + 1),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (peer_id, last_seq)
);
-- A batch of a thousand cameras is some 150 kB: stored out of line as it
-- is, without compressing what is read once and deleted.
ALTER TABLE outbox ALTER COLUMN changes SET STORAGE EXTERNAL;

INSERT INTO outbox (peer_id, last_seq, seq, changes, created_at)
    SELECT peer_id, seq, seq, ARRAY[change], created_at FROM outbox_old;
DROP TABLE outbox_old;

-- Append changes for PEER in order, as one row; returns the last sequence.
CREATE OR REPLACE FUNCTION outbox_append(p_peer text, p_changes bytea[]) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    last bigint;
    n int := coalesce(array_length(p_changes, 1), 0);
BEGIN
    IF n = 0 THEN
        RETURN NULL;
    END IF;
    INSERT INTO outbox_seq AS s (peer_id, last_seq) VALUES (p_peer, n)
        ON CONFLICT (peer_id) DO UPDATE SET last_seq = s.last_seq + n
        RETURNING s.last_seq INTO last;
    INSERT INTO outbox (peer_id, last_seq, seq, changes) VALUES (p_peer, last, last - n + 1, p_changes);
    RETURN last;
END $$;
