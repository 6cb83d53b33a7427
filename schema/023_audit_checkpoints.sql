-- 023: signed checkpoints of the access log (DESIGN.md "Audit"; Art 23(5)).
--
-- Every node signs the head of its own log (record SEQ has hash HASH) with
-- its Ed25519 sign key, at most every 10 s (with a batch of the log sent
-- up, or by itself when the log grew; lib/audit.c), keeps the checkpoint
-- and sends it up; each parent keeps its children's (and forwards them). Since every record's
-- hash chains all those before it, one checkpoint vouches for the whole log
-- up to it: anyone holding a node's sign.pub checks a parent's copy against
-- what the node itself said (`vigilctl audit checkpoints --key-file`), and
-- a copy rewritten at its holder, however consistently, no longer matches.
-- Kept like the log: append-only, even for the daemon's role.
CREATE TABLE audit_checkpoints (
    node_id     text NOT NULL,
    seq         bigint NOT NULL CHECK (seq >= 1),
    hash        bytea NOT NULL CHECK (length(hash) = 32),
    signed_at   timestamptz NOT NULL,
    signature   bytea NOT NULL CHECK (length(signature) = 64),
    via         text,                        -- the child it came through; NULL: this node's own
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (node_id, seq)
);
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_refuse();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse();
REVOKE UPDATE, DELETE, TRUNCATE ON audit_checkpoints FROM vigil_writer;
GRANT SELECT, INSERT ON audit_checkpoints TO vigil_writer;

-- Keep a checkpoint (this node's own: P_VIA NULL) and send it up.
CREATE FUNCTION audit_checkpoint_keep(p_via text, p_node text, p_seq bigint, p_hash bytea,
        p_signed_at timestamptz, p_signature bytea, p_change bytea, p_uplink text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_checkpoints (node_id, seq, hash, signed_at, signature, via)
        VALUES (p_node, p_seq, p_hash, p_signed_at, p_signature, p_via)
        ON CONFLICT (node_id, seq) DO NOTHING;
    IF FOUND AND p_uplink IS NOT NULL THEN
        PERFORM outbox_append(p_uplink, ARRAY[p_change]);
    END IF;
    RETURN FOUND;
END $$;

-- The latest checkpoints of NODE (this node's own, or a copy held of a node
-- below) with the hash the log or copy held here has at that record.
CREATE FUNCTION audit_checkpoints_json(p_node text, p_limit integer) RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
        SELECT coalesce(json_agg(x ORDER BY x.seq), '[]'::json) FROM (
            SELECT c.seq, encode(c.hash, 'hex') AS hash,
                   (extract(epoch FROM c.signed_at) * 1000000)::bigint AS signed_at_us,
                   encode(c.signature, 'hex') AS signature,
                   encode(CASE WHEN p_node = vigil_self() THEN (SELECT l.hash FROM audit_log l WHERE l.seq = c.seq)
                               ELSE (SELECT k.hash FROM audit_copies k WHERE k.node_id = c.node_id AND k.seq = c.seq)
                          END, 'hex') AS held_hash
            FROM audit_checkpoints c WHERE c.node_id = p_node ORDER BY c.seq DESC LIMIT p_limit) x);
END $$;
