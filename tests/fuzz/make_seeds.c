/* Writes the seed corpora of the targets issue 17 (harness item 4) added
 * that need protobuf: corpus/change (a change of every kind, each as the
 * node it goes to would get it) and corpus/link (sequences of envelopes a
 * peer sends, with the databases answering), and corpus/envelope's
 * delta_changes (a Delta as the link sends it: changes[] only). Rerun
 * after adding a kind of change:
 *   ninja -C build tests/fuzz/make_seeds
 *   build/tests/fuzz/make_seeds tests/fuzz/corpus
 * The text corpora (args, files, import, rtspread, sqlarray, zap) are
 * written by make_seeds.py. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "wire/decision.h"
#include "wire/wire.h"

#define CITY "43010000002000000001"
#define DISTRICT "43010400002000000001"
#define STATION "43010401002000000001"
#define CAMERA "43010401001310000001"

static const char *outdir;
/* The city's signing key as fuzz_change.c makes it (a seed of bytes 1,
 * TIER_CITY): decisions from above signed by it get past the signature
 * checks into the kinds' own. */
static uint8_t city_pk[32], city_sk[64];

static void sign_by_city(ProtobufCMessage *m, uint8_t sig[DECISION_SIG_LEN])
{
        if (decision_sign(m, CITY, city_sk, sig, NULL) != 0)
                exit(1);
}

struct buf {
        uint8_t d[65536];
        size_t n;
};

static void put(struct buf *b, const void *p, size_t len)
{
        if (b->n + len > sizeof(b->d))
                exit(1);
        memcpy(b->d + b->n, p, len);
        b->n += len;
}

static void put8(struct buf *b, uint8_t v)
{
        put(b, &v, 1);
}

static void put16(struct buf *b, size_t v)
{
        put8(b, (uint8_t)(v >> 8));
        put8(b, (uint8_t)v);
}

static void emit(const char *dir, const char *name, const struct buf *b)
{
        char path[4096];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s/%s", outdir, dir, name);
        f = fopen(path, "wb");
        if (!f || fwrite(b->d, 1, b->n, f) != b->n || fclose(f) != 0) {
                perror(path);
                exit(1);
        }
}

static ProtobufCBinaryData pack(const Vigil__Change *c)
{
        ProtobufCBinaryData b;

        if (wire_encode_change(c, &b.data, &b.len) != 0)
                exit(1);
        return b;
}

/* A change seed: SELECTOR (fuzz_change.c's byte 0), then C. */
static void change_seed(const char *name, uint8_t selector, const Vigil__Change *c)
{
        struct buf b = { .n = 0 };
        ProtobufCBinaryData p = pack(c);

        put8(&b, selector);
        put16(&b, p.len);
        put(&b, p.data, p.len);
        /* The same kind twice: a set-based kind groups them. */
        put16(&b, p.len);
        put(&b, p.data, p.len);
        emit("change", name, &b);
        free(p.data);
}

static void envelope(struct buf *b, Vigil__Envelope *env)
{
        uint8_t *p;
        size_t len;

        if (wire_encode_envelope(env, &p, &len) != 0)
                exit(1);
        put8(b, 0);
        put16(b, len);
        put(b, p, len);
        free(p);
}

static ProtobufCBinaryData probe(uint64_t number)
{
        Vigil__Change c = VIGIL__CHANGE__INIT;
        Vigil__LinkProbe lp = VIGIL__LINK_PROBE__INIT;

        lp.origin = DISTRICT;
        lp.has_number = 1;
        lp.number = number;
        c.kind_case = VIGIL__CHANGE__KIND_LINK_PROBE;
        c.link_probe = &lp;
        return pack(&c);
}

static void delta(struct buf *b, uint64_t seq, int n)
{
        Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
        Vigil__Delta d = VIGIL__DELTA__INIT;
        ProtobufCBinaryData ch[8];

        for (int i = 0; i < n; i++)
                ch[i] = probe(seq + (uint64_t)i);
        d.n_changes = (size_t)n;
        d.changes = ch;
        env.origin = DISTRICT;
        env.has_seq = 1;
        env.seq = seq;
        env.body_case = VIGIL__ENVELOPE__BODY_DELTA;
        env.delta = &d;
        envelope(b, &env);
        for (int i = 0; i < n; i++)
                free(ch[i].data);
}

static void ack(struct buf *b, uint64_t seq)
{
        Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
        Vigil__Ack a = VIGIL__ACK__INIT;

        a.has_seq = 1;
        a.seq = seq;
        env.origin = DISTRICT;
        env.body_case = VIGIL__ENVELOPE__BODY_ACK;
        env.ack = &a;
        envelope(b, &env);
}

static void resend(struct buf *b, uint64_t from)
{
        Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
        Vigil__ResendRequest r = VIGIL__RESEND_REQUEST__INIT;

        r.has_from_seq = 1;
        r.from_seq = from;
        env.origin = DISTRICT;
        env.body_case = VIGIL__ENVELOPE__BODY_RESEND_REQUEST;
        env.resend_request = &r;
        envelope(b, &env);
}

static void snapshot(struct buf *b, uint64_t seq, const char *epoch, int chunks, uint64_t items)
{
        Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
        Vigil__SnapshotBegin sb = VIGIL__SNAPSHOT_BEGIN__INIT;
        Vigil__SnapshotChunk sc = VIGIL__SNAPSHOT_CHUNK__INIT;
        Vigil__SnapshotEnd se = VIGIL__SNAPSHOT_END__INIT;
        ProtobufCBinaryData ch[2];

        env.origin = DISTRICT;
        sb.has_seq = 1;
        sb.seq = seq;
        sb.epoch = (char *)epoch;
        env.body_case = VIGIL__ENVELOPE__BODY_SNAPSHOT_BEGIN;
        env.snapshot_begin = &sb;
        envelope(b, &env);
        for (int k = 0; k < chunks; k++) {
                ch[0] = probe(100 + 2 * (uint64_t)k);
                ch[1] = probe(101 + 2 * (uint64_t)k);
                sc.n_changes = 2;
                sc.changes = ch;
                env.body_case = VIGIL__ENVELOPE__BODY_SNAPSHOT_CHUNK;
                env.snapshot_chunk = &sc;
                envelope(b, &env);
                put8(b, 3);     /* the chunk's step commits */
                free(ch[0].data);
                free(ch[1].data);
        }
        se.has_seq = 1;
        se.seq = seq;
        se.has_items = 1;
        se.items = items;
        env.body_case = VIGIL__ENVELOPE__BODY_SNAPSHOT_END;
        env.snapshot_end = &se;
        envelope(b, &env);
        put8(b, 7);
}

static void link_seeds(void)
{
        struct buf b;

        /* In order, each applied. */
        b.n = 0;
        put8(&b, 2 << 1);
        put8(&b, 0);
        delta(&b, 1, 2);
        put8(&b, 3);
        delta(&b, 2, 3);
        put8(&b, 7);
        put8(&b, 5);
        emit("link", "deltas_in_order", &b);
        /* A gap, a duplicate, a resend overlapping. */
        b.n = 0;
        put8(&b, 2 << 1);
        put8(&b, 5);
        delta(&b, 6, 1);
        delta(&b, 9, 2);
        delta(&b, 6, 1);
        delta(&b, 7, 3);
        put8(&b, 7);
        emit("link", "gap_duplicate_overlap", &b);
        /* A failed apply, a restart, the rest. */
        b.n = 0;
        put8(&b, 1 | 1 << 1);
        put8(&b, 0);
        delta(&b, 1, 4);
        put8(&b, 4);
        put8(&b, 6);
        delta(&b, 1, 4);
        put8(&b, 7);
        ack(&b, 0);
        resend(&b, 1);
        put8(&b, 5);
        emit("link", "child_fail_restart", &b);
        /* A snapshot in a new epoch, deltas after it. */
        b.n = 0;
        put8(&b, 3 << 1);
        put8(&b, 40);
        snapshot(&b, 12, "epoch-new", 2, 4);
        delta(&b, 13, 1);
        put8(&b, 7);
        emit("link", "snapshot_then_deltas", &b);
        /* A snapshot whose end counts what did not arrive. */
        b.n = 0;
        put8(&b, 1);
        put8(&b, 3);
        snapshot(&b, 3, "epoch-peer", 1, 9);
        put8(&b, 6);
        emit("link", "snapshot_short", &b);
}

static void change_seeds(void)
{
        Vigil__Change c = VIGIL__CHANGE__INIT;

        {
                Vigil__NodeState ns = VIGIL__NODE_STATE__INIT;
                ns.node_id = STATION;
                ns.parent_id = DISTRICT;
                ns.has_tier = 1;
                ns.tier = VIGIL__TIER__TIER_STATION;
                ns.name = "yuelu-1";
                ns.has_online = 1;
                ns.online = 1;
                ns.has_version = 1;
                ns.version = 1700000000000000;
                c.kind_case = VIGIL__CHANGE__KIND_NODE_STATE;
                c.node_state = &ns;
                change_seed("node_state_at_city", 2, &c);
        }
        {
                Vigil__NodeRemoved nr = VIGIL__NODE_REMOVED__INIT;
                nr.node_id = STATION;
                nr.has_version = 1;
                nr.version = 1700000000000001;
                c.kind_case = VIGIL__CHANGE__KIND_NODE_REMOVED;
                c.node_removed = &nr;
                change_seed("node_removed_down", 0, &c);
        }
        {
                Vigil__Site s = VIGIL__SITE__INIT;
                s.station_id = STATION;
                s.code = "S001";
                s.has_version = 1;
                s.version = 1700000000000002;
                s.name = "Yuelu gate";
                s.address = "1 Lushan Rd";
                s.has_latitude = s.has_longitude = 1;
                s.latitude = 28.18;
                s.longitude = 112.94;
                s.category = "7.3";
                s.location_type = "street";
                s.has_signage = 1;
                s.signage = 1;
                c.kind_case = VIGIL__CHANGE__KIND_SITE;
                c.site = &s;
                change_seed("site_up", 1, &c);
                change_seed("site_snapshot_city", 2 | 8, &c);
        }
        {
                Vigil__System s = VIGIL__SYSTEM__INIT;
                s.station_id = STATION;
                s.code = "SYS1";
                s.has_version = 1;
                s.version = 1700000000000003;
                s.name = "Gate system";
                s.builder_class = "government";
                s.responsible_entity = "Yuelu PSB";
                s.commissioned_on = "2026-01-02";
                c.kind_case = VIGIL__CHANGE__KIND_SYSTEM;
                c.system = &s;
                change_seed("system_up", 1, &c);
        }
        {
                Vigil__Camera cam = VIGIL__CAMERA__INIT;
                cam.id = CAMERA;
                cam.station_id = STATION;
                cam.has_version = 1;
                cam.version = 1700000000000004;
                cam.name = "Gate 1";
                cam.system_code = "SYS1";
                cam.site_code = "S001";
                cam.codec = "H.264";
                cam.resolution = "1920x1080";
                cam.has_latitude = cam.has_longitude = 1;
                cam.latitude = 28.18;
                cam.longitude = 112.94;
                c.kind_case = VIGIL__CHANGE__KIND_CAMERA;
                c.camera = &cam;
                change_seed("camera_up", 1, &c);
                change_seed("camera_city", 2, &c);
        }
        {
                Vigil__CameraStatus cs = VIGIL__CAMERA_STATUS__INIT;
                cs.id = CAMERA;
                cs.status = "offline";
                cs.has_version = 1;
                cs.version = 1700000000000005;
                c.kind_case = VIGIL__CHANGE__KIND_CAMERA_STATUS;
                c.camera_status = &cs;
                change_seed("camera_status_up", 1, &c);
        }
        {
                Vigil__Officer o = VIGIL__OFFICER__INIT;
                char *roles[] = { "officer" };
                o.badge = "B1001";
                o.has_version = 1;
                o.version = 1700000000000006;
                o.name = "Li Wei";
                o.unit = STATION;
                o.n_roles = 1;
                o.roles = roles;
                o.public_key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
                o.has_active = 1;
                o.active = 1;
                c.kind_case = VIGIL__CHANGE__KIND_OFFICER;
                c.officer = &o;
                change_seed("officer_up", 1, &c);
                change_seed("officer_city", 2, &c);
        }
        {
                Vigil__Delegation d = VIGIL__DELEGATION__INIT;
                d.id = "dl-1";
                d.has_version = 1;
                d.version = 1700000000000007;
                d.unit = STATION;
                d.principal = "B1001";
                d.deputy = "B1002";
                d.has_valid_from_us = d.has_valid_until_us = 1;
                d.valid_from_us = 1700000000000000;
                d.valid_until_us = 1800000000000000;
                c.kind_case = VIGIL__CHANGE__KIND_DELEGATION;
                c.delegation = &d;
                change_seed("delegation_up", 1, &c);
        }
        {
                Vigil__Grant g = VIGIL__GRANT__INIT;
                char *cams[] = { CAMERA }, *acts[] = { "view-live" }, *offs[] = { "B1001" };
                g.request_id = "rq-1";
                g.has_version = 1;
                g.version = 1700000000000008;
                g.n_cameras = 1;
                g.cameras = cams;
                g.n_actions = 1;
                g.actions = acts;
                g.n_officers = 1;
                g.officers = offs;
                g.has_valid_until_us = 1;
                g.valid_until_us = 1800000000000000;
                g.purpose = "case";
                g.approved_by = "B9";
                g.filed_at = DISTRICT;
                c.kind_case = VIGIL__CHANGE__KIND_GRANT;
                c.grant = &g;
                change_seed("grant_down", 0, &c);
                change_seed("grant_district_down", 1 | 4, &c);
                {
                        uint8_t sig[DECISION_SIG_LEN];
                        g.filed_at = CITY;
                        sign_by_city(&g.base, sig);
                        change_seed("grant_down_signed", 0, &c);
                        change_seed("grant_district_down_signed", 1 | 4, &c);
                }
        }
        {
                Vigil__AuditRecord a = VIGIL__AUDIT_RECORD__INIT;
                uint8_t h[32] = { 0 };
                a.node_id = STATION;
                a.has_seq = 1;
                a.seq = 1;
                a.has_at_us = 1;
                a.at_us = 1700000000000009;
                a.actor = "B1001";
                a.action = "view-live";
                a.outcome = "allowed";
                a.camera = CAMERA;
                a.has_prev_hash = 1;
                a.prev_hash.data = h;
                a.prev_hash.len = sizeof(h);
                c.kind_case = VIGIL__CHANGE__KIND_AUDIT_RECORD;
                c.audit_record = &a;
                change_seed("audit_record_up", 1, &c);
                change_seed("audit_record_city", 2, &c);
        }
        {
                Vigil__AuditCheckpoint a = VIGIL__AUDIT_CHECKPOINT__INIT;
                uint8_t h[32] = { 1 }, sig[64] = { 2 };
                a.node_id = STATION;
                a.has_seq = 1;
                a.seq = 1;
                a.has_hash = 1;
                a.hash.data = h;
                a.hash.len = sizeof(h);
                a.has_signed_at_us = 1;
                a.signed_at_us = 1700000000000010;
                a.has_signature = 1;
                a.signature.data = sig;
                a.signature.len = sizeof(sig);
                c.kind_case = VIGIL__CHANGE__KIND_AUDIT_CHECKPOINT;
                c.audit_checkpoint = &a;
                change_seed("audit_checkpoint_up", 1, &c);
        }
        {
                Vigil__EmergencyOrder o = VIGIL__EMERGENCY_ORDER__INIT;
                char *offs[] = { "B1001" };
                o.id = "em-1";
                o.has_version = 1;
                o.version = 1700000000000011;
                o.scope = DISTRICT;
                o.has_near_lat = o.has_near_lon = o.has_radius_m = 1;
                o.near_lat = 28.18;
                o.near_lon = 112.94;
                o.radius_m = 500;
                o.has_starts_us = o.has_ends_us = 1;
                o.starts_us = 1700000000000000;
                o.ends_us = 1700003600000000;
                o.incident = "flood";
                o.authority = "PSB";
                o.declared_by = "B9";
                o.declared_at = CITY;
                o.n_officers = 1;
                o.officers = offs;
                c.kind_case = VIGIL__CHANGE__KIND_EMERGENCY_ORDER;
                c.emergency_order = &o;
                change_seed("emergency_order_down", 0, &c);
                {
                        uint8_t sig[DECISION_SIG_LEN];
                        sign_by_city(&o.base, sig);
                        change_seed("emergency_order_down_signed", 0, &c);
                        change_seed("emergency_order_district_signed", 1 | 4, &c);
                }
        }
        {
                Vigil__EmergencyReport r = VIGIL__EMERGENCY_REPORT__INIT;
                r.emergency_id = "em-1";
                r.station = STATION;
                r.has_version = 1;
                r.version = 1700000000000012;
                r.has_linked = r.has_failed = r.has_done = 1;
                r.linked = 3;
                r.failed = 1;
                r.done = 1;
                r.details = "[{\"system\":\"SYS1\",\"outcome\":\"linked\"}]";
                c.kind_case = VIGIL__CHANGE__KIND_EMERGENCY_REPORT;
                c.emergency_report = &r;
                change_seed("emergency_report_up", 1, &c);
        }
        {
                Vigil__Conferral cf = VIGIL__CONFERRAL__INIT;
                char *by[] = { "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7" };
                cf.id = "cf-1";
                cf.has_version = 1;
                cf.version = 1700000000000013;
                cf.unit = STATION;
                cf.badge = "B1001";
                cf.role = "principal";
                cf.n_conferred_by = 1;
                cf.conferred_by = by;
                cf.conferred_at = CITY;
                c.kind_case = VIGIL__CHANGE__KIND_CONFERRAL;
                c.conferral = &cf;
                change_seed("conferral_down", 0, &c);
                {
                        uint8_t sig[DECISION_SIG_LEN];
                        sign_by_city(&cf.base, sig);
                        change_seed("conferral_down_signed", 0, &c);
                }
        }
}

int main(int argc, char **argv)
{
        if (argc != 2) {
                fprintf(stderr, "usage: make_seeds CORPUS_DIR\n");
                return 2;
        }
        outdir = argv[1];
        {
                unsigned char seed[crypto_sign_SEEDBYTES];
                memset(seed, 1, sizeof(seed));
                if (sodium_init() < 0)
                        return 1;
                crypto_sign_seed_keypair(city_pk, city_sk, seed);
        }
        change_seeds();
        link_seeds();
        {
                /* A Delta as the link sends it: changes[] only, no change. */
                struct buf b = { .n = 0 }, e = { .n = 0 };
                delta(&b, 7, 3);
                put(&e, b.d + 3, b.n - 3);
                emit("envelope", "delta_changes", &e);
        }
        return 0;
}
