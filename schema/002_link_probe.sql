-- 002: link probes. `vigilctl link probe` at a node sends a number of
-- probe changes through its reliable uplink; the parent stores them here.
-- An on-call engineer measures a link with it, and tests/bench measures the
-- delivery machinery with exactly what production runs.

CREATE TABLE link_probes (
    origin      text NOT NULL,
    probe_id    bigint NOT NULL,
    number      bigint NOT NULL,
    sent_at     timestamptz,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (origin, probe_id, number)
);

-- Apply a batch of probes from child VIA (they must come from VIA itself).
CREATE FUNCTION link_probe_apply(p_via text, p_probe_ids bigint[], p_numbers bigint[],
        p_sent_us bigint[])
RETURNS void LANGUAGE sql AS $$
    INSERT INTO link_probes (origin, probe_id, number, sent_at)
        SELECT p_via, i, n, to_timestamp(s / 1000000.0)
        FROM unnest(p_probe_ids, p_numbers, p_sent_us) AS u(i, n, s)
        ON CONFLICT DO NOTHING;
$$;
