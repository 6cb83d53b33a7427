-- 009: bounded emergency access (Art 19, 20(4), 29(2)); no credentials in
-- URLs, and the credentials held at a station sealed (Art 5, 24(1)).
-- (Safe to run again, as tests/unit/test_migrate.c does: IF NOT EXISTS,
-- and the data moves find nothing left to move.)
--
-- An emergency names who may act under it: badges and roles of the
-- command, resolved at the declaring node into each officer's unit, badge
-- and key (`named`, what the station checks: a badge alone is no
-- identity), and how far back before its start recorded footage may be
-- viewed, copied or retrieved (`look_back`, at most 24 hours: older
-- footage needs an approval). Orders kept from before name nobody: no one
-- views under them, their linkages stand.
ALTER TABLE emergencies
    ADD COLUMN IF NOT EXISTS officers  text[] NOT NULL DEFAULT '{}',
    ADD COLUMN IF NOT EXISTS roles     text[] NOT NULL DEFAULT '{}',
    ADD COLUMN IF NOT EXISTS named     jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(named) = 'array'),
    ADD COLUMN IF NOT EXISTS look_back interval NOT NULL DEFAULT '0'
        CONSTRAINT "Art 19: an emergency looks back at most 24 hours"
        CHECK (look_back >= interval '0' AND look_back <= interval '24 hours');

-- The signatures that change (functions/emergency.sql and access.sql
-- define the new ones).
DROP FUNCTION IF EXISTS emergency_declare(text, text, text, double precision, double precision, double precision,
                                          interval, text, text);
DROP FUNCTION IF EXISTS emergency_apply(text, text, bigint, text, double precision, double precision,
                                        double precision, timestamptz, timestamptz, text, text, text, text, boolean,
                                        bytea);
DROP FUNCTION IF EXISTS emergency_receive(text, text, bigint, text, double precision, double precision,
                                          double precision, timestamptz, timestamptz, text, text, text, text, boolean,
                                          bigint, timestamptz, text, bytea);
DROP FUNCTION IF EXISTS emergency_take();
DROP FUNCTION IF EXISTS emergency_systems(text);
DROP FUNCTION IF EXISTS view_decide(text, text, text, timestamptz, timestamptz, text, text);

-- Held credentials are sealed by vigild (XChaCha20-Poly1305 with the key
-- in its key directory, DIR/credentials.key, which the database never
-- sees): the row holds the nonce and the sealed user and password only.
-- username/password remain for rows not sealed yet (from older databases,
-- and the userinfo moved below): vigild seals them at its next start and
-- clears them.
ALTER TABLE interface_credentials
    ALTER COLUMN username DROP NOT NULL,
    ALTER COLUMN password DROP NOT NULL,
    ADD COLUMN IF NOT EXISTS nonce  bytea,
    ADD COLUMN IF NOT EXISTS sealed bytea CONSTRAINT interface_credentials_sealed_or_pending
        CHECK ((nonce IS NULL) = (sealed IS NULL)
               AND (sealed IS NULL) = (password IS NOT NULL)
               AND (sealed IS NULL OR username IS NULL));

-- No credentials in URLs (Art 5, 24(1)): a URL travels up the tree (and
-- into emergency reports) and is shown to whoever lists the catalog.
-- What older databases hold is moved: at the owning station the userinfo
-- of a reserved interface goes into the credential store (unless
-- credentials are held for the system already), a camera's to its
-- system's (a camera's stream is served by its system, which holds one
-- set); every tier strips it from the URL.
INSERT INTO interface_credentials (system_code, username, password)
    SELECT code, split_part(u, ':', 1), substr(u, length(split_part(u, ':', 1)) + 2)
    FROM (SELECT code, substring(reserved_interface FROM '^[A-Za-z][A-Za-z0-9+.-]*://([^/]*)@') AS u
          FROM systems WHERE via IS NULL) s
    WHERE u IS NOT NULL
    ON CONFLICT (system_code) DO NOTHING;
INSERT INTO interface_credentials (system_code, username, password)
    SELECT DISTINCT ON (system_code) system_code, split_part(u, ':', 1),
           substr(u, length(split_part(u, ':', 1)) + 2)
    FROM (SELECT id, system_code, substring(stream_url FROM '^[A-Za-z][A-Za-z0-9+.-]*://([^/]*)@') AS u
          FROM cameras WHERE via IS NULL) c
    WHERE u IS NOT NULL
    ORDER BY system_code, id
    ON CONFLICT (system_code) DO NOTHING;
UPDATE systems SET reserved_interface = regexp_replace(reserved_interface, '^([A-Za-z][A-Za-z0-9+.-]*://)[^/]*@',
                                                       '\1')
    WHERE reserved_interface ~ '^[A-Za-z][A-Za-z0-9+.-]*://[^/]*@';
UPDATE cameras SET stream_url = regexp_replace(stream_url, '^([A-Za-z][A-Za-z0-9+.-]*://)[^/]*@', '\1')
    WHERE stream_url ~ '^[A-Za-z][A-Za-z0-9+.-]*://[^/]*@';
UPDATE linkages SET url = regexp_replace(url, '^([A-Za-z][A-Za-z0-9+.-]*://)[^/]*@', '\1')
    WHERE url ~ '^[A-Za-z][A-Za-z0-9+.-]*://[^/]*@';
UPDATE emergency_reports r SET details = (
        SELECT jsonb_agg(CASE WHEN d ? 'url'
                              THEN jsonb_set(d, '{url}', to_jsonb(regexp_replace(d->>'url',
                                   '^([A-Za-z][A-Za-z0-9+.-]*://)[^/]*@', '\1')))
                              ELSE d END)
        FROM jsonb_array_elements(r.details) d)
    WHERE jsonb_typeof(details) = 'array' AND details::text ~ '://[^/"]*@';
