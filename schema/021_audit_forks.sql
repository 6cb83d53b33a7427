-- 021: a child's access-log record that does not extend the copy held
-- here (issue 17, fault 3). A node restored from a backup numbers its log
-- again from the backup's last record: its new records carry sequence
-- numbers its parent already holds with other hashes. They used to raise
-- an alarm and be dropped, at every tier, so the access log of everything
-- done after the restore existed only at the restored node. They are kept
-- here whole (the change as it arrived), beside the copies, and go on up;
-- the records the restored node lost stay in audit_copies.
CREATE TABLE IF NOT EXISTS audit_forks (
    node_id     text NOT NULL,
    seq         bigint NOT NULL,
    hash        bytea NOT NULL,
    prev_hash   bytea NOT NULL,
    at          timestamptz NOT NULL,
    actor       text NOT NULL,
    action      text NOT NULL,
    outcome     text NOT NULL,
    change      bytea NOT NULL,
    via         text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (node_id, seq, hash)
);
-- Insert-only, as the copies are: functions/privileges.sql and the
-- audit_frozen trigger (functions/audit.sql).
