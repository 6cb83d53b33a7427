-- 005: emergencies (Art 13, 19): orders down, forced linkage of private
-- systems through their reserved interfaces at the stations, reports up.
-- Their functions are in functions/emergency.sql.

CREATE TABLE emergencies (
    id                 text PRIMARY KEY,
    version            bigint NOT NULL,
    -- A GB/T 28181 ID, as gbt28181_id() says, written out: a CHECK that
    -- calls an SQL function inlines its body at every statement that checks
    -- it, and gbt28181_id(scope) was a fifth of an INSERT into emergencies.
    scope              text NOT NULL
        CONSTRAINT emergencies_scope_check CHECK (octet_length(scope) = 20 AND ltrim(scope, '0123456789') = ''),
    near_lat           double precision CHECK (near_lat BETWEEN -90 AND 90),
    near_lon           double precision CHECK (near_lon BETWEEN -180 AND 180),
    radius_m           double precision CHECK (radius_m > 0),
    starts_at          timestamptz NOT NULL,
    ends_at            timestamptz NOT NULL CHECK (ends_at > starts_at),
    incident           text NOT NULL CHECK (length(incident) > 0),
    authority          text NOT NULL CHECK (length(authority) > 0),
    declared_by        text NOT NULL,
    declared_at        text NOT NULL,
    ended_at           timestamptz,
    via                text,               -- the parent it came from (NULL: declared here)
    dispatch_version   bigint,             -- at the command: the version to send down
    dispatched_version bigint,             -- and the last one sent
    acted_version      bigint,             -- at a station: the version it acted on
    -- At a station: the version it acked, in the transaction that kept the
    -- order (emergency_receive), so the command learns within one hop's
    -- commit that the order arrived; probing the systems follows.
    acked_version      bigint,
    CONSTRAINT "Art 19: a point and a radius together"
        CHECK ((near_lat IS NULL) = (near_lon IS NULL) AND (near_lat IS NULL) = (radius_m IS NULL))
);

-- What each station in scope reported (at the command and the districts).
CREATE TABLE emergency_reports (
    emergency_id text NOT NULL,
    station      text NOT NULL,
    version      bigint NOT NULL,
    acked_at     timestamptz,
    linked       integer NOT NULL DEFAULT 0,
    failed       integer NOT NULL DEFAULT 0,
    done         boolean NOT NULL DEFAULT false,
    details      jsonb,
    received_at  timestamptz NOT NULL DEFAULT now(),
    via          text,
    unlinked     integer NOT NULL DEFAULT 0,   -- linkages undone at the end
    PRIMARY KEY (emergency_id, station)
);

-- At a station: each private system linked (or not) under an emergency.
CREATE TABLE linkages (
    emergency_id text NOT NULL,
    system_code  text NOT NULL,
    url          text NOT NULL,
    outcome      text NOT NULL CHECK (outcome IN ('linked', 'refused', 'timeout', 'auth_failed', 'bad_response')),
    reason       text,
    streams      jsonb,
    linked_at    timestamptz NOT NULL DEFAULT now(),
    unlinked_at  timestamptz,
    PRIMARY KEY (emergency_id, system_code)
);

-- Credentials of reserved interfaces, held at the station only: never
-- replicated, never in the URL that travels up.
CREATE TABLE interface_credentials (
    system_code text PRIMARY KEY,
    username    text NOT NULL,
    password    text NOT NULL
);

-- The after-action side (Art 13): each private system linked gets a
-- notification record addressed to its responsible entity (its owner is
-- told that it was linked, when, why and on whose authority), kept at the
-- station and carried in its report to the command.
CREATE TABLE linkage_notifications (
    emergency_id       text NOT NULL,
    system_code        text NOT NULL,
    responsible_entity text NOT NULL,
    linked_at          timestamptz NOT NULL,
    incident           text NOT NULL,
    authority          text NOT NULL,
    text               text NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (emergency_id, system_code)
);
