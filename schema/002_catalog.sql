-- 002: the federated catalog (Art 2: site -> system -> camera).
--
-- Every row belongs to the station that registered it (station_id). Only
-- that station creates, changes or deletes it; every other tier holds a
-- replica that arrives through the reliable delivery (Art 4: one catalog,
-- no node re-registers what another owns). The rules of the regulation are
-- checked inside the registering transaction, for the station's own rows,
-- by the triggers of functions/catalog.sql, which also writes the replica
-- apply functions from these tables' columns (catalog_define_apply): a
-- column added here by a later migration reaches site_apply, system_apply
-- or camera_apply with no other SQL change.
--
-- GB/T 28181 IDs are checked by gbt28181_id() (functions/checks.sql),
-- exactly twenty ASCII digits with two plain string functions, inlined:
-- `id ~ '^[0-9]{20}$'` ran the regex engine for every replicated camera,
-- twice (id, station_id), some 8% of a district's database time in
-- tests/bench/catalog-sync.

-- Location types (where a site is). Every place Art 8 forbids is here, with
-- the paragraph that forbids it; a camera at such a site is refused.
CREATE TABLE location_types (
    code        text PRIMARY KEY,
    description text NOT NULL,
    forbidden   text CHECK (forbidden ~ '^Art 8\([1-7]\)$')
);
INSERT INTO location_types (code, description, forbidden) VALUES
    -- Art 7 places (and ordinary ones)
    ('road', 'trunk road or main highway section', NULL),
    ('junction', 'traffic junction', NULL),
    ('expressway-exit', 'expressway entrance, exit or toll station', NULL),
    ('transport-hub', 'airport, port, wharf, railway or bus station', NULL),
    ('tunnel', 'tunnel', NULL),
    ('bridge', 'large bridge', NULL),
    ('footbridge', 'pedestrian bridge', NULL),
    ('underpass', 'pedestrian underpass', NULL),
    ('public-transport', 'metro, light rail, bus, coach or passenger ship', NULL),
    ('energy-facility', 'fuel station, oil depot, water, power, gas or energy facility', NULL),
    ('flood-defence', 'dyke, reservoir, artificial lake, flood-control area', NULL),
    ('school', 'school or kindergarten', NULL),
    ('hospital-public-area', 'hospital entrance, hall, corridor or other public area', NULL),
    ('museum', 'museum, exhibition hall, memorial hall, stadium, library', NULL),
    ('park', 'park, scenic area, square or city promenade', NULL),
    ('square', 'large square', NULL),
    ('residential-entrance', 'residential compound or public car park entrance', NULL),
    ('hotel-public-area', 'hotel lobby, corridor or entrance', NULL),
    ('entertainment-public-area', 'entertainment venue, internet cafe: public areas', NULL),
    ('market', 'large or medium shopping place, second-hand market, pawnshop', NULL),
    ('jeweller', 'precious metal or jewellery business', NULL),
    ('bank-public-area', 'bank hall, vault, cash transport, securities store', NULL),
    ('telecom-post-media', 'telecom, post, media, research unit or heritage site', NULL),
    ('hazardous-materials', 'reserve depot or hazardous-materials site', NULL),
    ('street', 'other street or public place', NULL),
    ('other', 'other place', NULL),
    -- Art 8: capture devices forbidden
    ('hospital-ward', 'hospital ward, operating room or treatment room', 'Art 8(1)'),
    ('hotel-guest-room', 'hotel or guest-house room', 'Art 8(2)'),
    ('entertainment-private-room', 'private room or box of an entertainment venue', 'Art 8(2)'),
    ('dormitory-room', 'room of a collective dormitory', 'Art 8(3)'),
    ('public-toilet', 'public toilet', 'Art 8(4)'),
    ('public-bath', 'public bath', 'Art 8(4)'),
    ('changing-room', 'changing room, fitting room or dressing room', 'Art 8(4)'),
    ('rest-room', 'rest room', 'Art 8(4)'),
    ('nursing-room', 'nursing room', 'Art 8(4)'),
    ('bank-client-data-spot', 'bank, insurance or securities spot that may expose client data', 'Art 8(5)'),
    ('polling-booth', 'ballot box or polling booth', 'Art 8(6)'),
    ('private-place', 'other place of personal privacy', 'Art 8(7)');

CREATE TABLE sites (
    station_id    text COLLATE "C" NOT NULL CHECK (gbt28181_id(station_id)),
    code          text NOT NULL CHECK (code ~ '^[A-Za-z0-9._-]{1,64}$'),
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    address       text,
    latitude      double precision CHECK (latitude BETWEEN -90 AND 90),
    longitude     double precision CHECK (longitude BETWEEN -180 AND 180),
    -- Art 7: the category of place that must be covered (7.1 .. 7.12).
    category      text CHECK (category ~ '^7\.([1-9]|1[0-2])$'),
    location_type text NOT NULL REFERENCES location_types (code),
    signage       boolean NOT NULL DEFAULT false,   -- Art 10 notice sign
    owner         text,
    version       bigint NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    via           text,  -- replica: the child it came through
    snapshot_mark boolean NOT NULL DEFAULT false,
    PRIMARY KEY (station_id, code)
);

CREATE TABLE systems (
    station_id           text COLLATE "C" NOT NULL CHECK (gbt28181_id(station_id)),
    code                 text NOT NULL CHECK (code ~ '^[A-Za-z0-9._-]{1,64}$'),
    name                 text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    builder_class        text NOT NULL CHECK (builder_class IN ('government', 'private')),  -- Art 9
    responsible_entity   text NOT NULL,            -- Art 9
    maintainer           text,                     -- Art 21
    maintenance_agreement text,                    -- Art 21
    installer            text,                     -- Art 14
    installer_licence    text,                     -- Art 14
    commissioned_on      date,                     -- Art 11
    accepted_on          date,                     -- Art 16
    reserved_interface   text,                     -- Art 13 (e.g. rtsp://...)
    -- Art 23(6): footage is kept at least 15 days (also checked, with a
    -- clearer message, by the station before it writes).
    retention_days       integer NOT NULL
        CONSTRAINT "Art 23(6): retention at least 15 days" CHECK (retention_days >= 15),
    version              bigint NOT NULL,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    via                  text,
    snapshot_mark        boolean NOT NULL DEFAULT false,
    PRIMARY KEY (station_id, code)
);

CREATE TABLE cameras (
    -- COLLATE "C": the primary key's index then serves `id LIKE '430104%'`
    -- (the centre code is the tree) as a range scan.
    id            text COLLATE "C" PRIMARY KEY CHECK (gbt28181_id(id)),
    station_id    text COLLATE "C" NOT NULL CHECK (gbt28181_id(station_id)),
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    system_code   text NOT NULL,
    site_code     text NOT NULL,
    stream_url    text,
    codec         text,
    resolution    text,
    latitude      double precision CHECK (latitude BETWEEN -90 AND 90),
    longitude     double precision CHECK (longitude BETWEEN -180 AND 180),
    bearing       double precision CHECK (bearing >= 0 AND bearing < 360),
    field_of_view double precision CHECK (field_of_view > 0 AND field_of_view <= 360),
    ptz           boolean NOT NULL DEFAULT false,
    status        text NOT NULL DEFAULT 'unknown'
                  CHECK (status IN ('online', 'offline', 'fault', 'unknown')),
    version       bigint NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    via           text,
    snapshot_mark boolean NOT NULL DEFAULT false
);
CREATE INDEX cameras_station_site ON cameras (station_id, site_code);
-- No index on cameras (via): a node has few children, so it would select
-- large fractions of the table and only for snapshots (rare, and reading
-- everything below a child anyway), while every replicated camera would pay
-- for it. The small sites and systems tables keep theirs.
CREATE INDEX sites_category ON sites (category);
CREATE INDEX cameras_status ON cameras (status, id);
CREATE INDEX sites_via ON sites (via) WHERE via IS NOT NULL;
CREATE INDEX systems_via ON systems (via) WHERE via IS NOT NULL;
