-- 014: the stream gate's sessions that are open (features/stream_gate.c):
-- a row from the `gate.open … ok` record to its `gate.close`. A station
-- that stops, crashes or loses its database while a player watches
-- cannot record that close; at its next start, gate_recover() records
-- each session still here as closed, "end unknown", so that every open
-- on the access log has its close (Art 23(5)).
CREATE TABLE IF NOT EXISTS gate_sessions (
    ticket      text NOT NULL,
    opened_at   timestamptz NOT NULL DEFAULT now(),
    officer     text NOT NULL,
    camera      text NOT NULL,
    request_id  text,
    emergency_id text,
    client      text NOT NULL,
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (ticket, opened_at)
);

-- emergency_view_basis gained P_ONLY (functions/emergency.sql): the
-- function of before, without it, would make every call ambiguous.
DROP FUNCTION IF EXISTS emergency_view_basis(text, text, text, text, text, timestamptz, timestamptz, text);
