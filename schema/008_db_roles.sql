-- 008: a database the daemon cannot undo (issue 15; Art 23(5)).
--
-- The privileges themselves are in functions/privileges.sql, applied last
-- at every migration, so that a table or a function added later is
-- covered without editing this file. Here only what is a table's shape:
--
-- audit_alarms becomes insert-and-read only. An alarm (a fork or a gap in
-- a child's log) is evidence that someone rewrote history; the daemon that
-- raises it must not be able to clear it, and it used to set `logged` on
-- it (UPDATE). That this node's log has shown an alarm is its own
-- bookkeeping, kept in audit_alarms_logged: an insert per alarm shown,
-- nothing updated. (Written to run again harmlessly, as the migrations
-- after the baseline are over a database of the old chain.)
CREATE TABLE IF NOT EXISTS audit_alarms_logged (
    alarm_id  bigint PRIMARY KEY REFERENCES audit_alarms (id),
    logged_at timestamptz NOT NULL DEFAULT now()
);
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'audit_alarms'::regclass AND attname = 'logged'
               AND NOT attisdropped) THEN
        INSERT INTO audit_alarms_logged (alarm_id) SELECT id FROM audit_alarms WHERE logged
            ON CONFLICT DO NOTHING;
        ALTER TABLE audit_alarms DROP COLUMN logged;
    END IF;
END $$;
