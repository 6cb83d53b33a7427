/* config: vigild's INI configuration (parsed with inih), one table of keys.
 *
 * Every key maps to a parser and an offsetof() into struct config
 * (STYLE.md 9); unknown sections or keys are errors; everything is checked
 * before the daemon starts. See deploy/vigild.conf.example for every key.
 *
 *   [node]     id, name, tier, key_dir
 *   [parent]   id, endpoint, public_key, root_sign_key (required unless tier=city;
 *              root_sign_key: the city's sign.pub, the root of the keys whose
 *              decisions this node applies, lib/wire/trust.h)
 *   [listen]   control, downlink                 (downlink: not at stations)
 *   [database] conninfo
 *   [link]     heartbeat_ms (1000), heartbeat_misses (3), window (10000),
 *              reconnect_min_ms (100), reconnect_max_ms (2000),
 *              stall_seconds (30: a link with work outstanding and no
 *              progress that long resynchronises, issue 17),
 *              backlog_alarm_seconds (300: changes waiting for a peer
 *              that long raise the store-and-forward alarm, issue 17)
 *   [emergency] link_delay_ms (200)
 *   [access]   max_approval_hours (72), max_delegation_days (30): Art 19 bounds
 *   [control]  admin_keys (space-separated Z85 public keys admitted as admin)
 *   [log]      level (info), file (stderr if unset)
 */
#pragma once

#include <stddef.h>

#include "base/keys.h"
#include "base/nodeid.h"

#define CONFIG_MAX_ADMIN_KEYS 16

struct config {
        /* [node] */
        char node_id[NODEID_LEN + 1];
        char name[64];
        enum tier tier;
        char key_dir[512];
        /* [parent] */
        char parent_id[NODEID_LEN + 1];
        char parent_endpoint[256];
        char parent_public_key[KEYS_Z85_LEN + 1];
        char root_sign_key[2 * 32 + 1];         /* hex */
        /* [listen] */
        char control_endpoint[256];
        char downlink_endpoint[256];
        /* [database] */
        char conninfo[1024];
        /* [link] */
        int heartbeat_ms;
        int heartbeat_misses;
        int window;
        int reconnect_min_ms;
        int reconnect_max_ms;
        int stall_seconds;
        int backlog_alarm_seconds;
        /* [emergency] */
        int emergency_link_delay_ms;
        /* [access] */
        int max_approval_hours;
        int max_delegation_days;
        /* [gate]: a station's RTSP gate (features/stream_gate.h) */
        char gate_host[64];                     /* "" if none */
        int gate_port;
        char gate_public_url[256];              /* rtsp://HOST:PORT the view answers name */
        int ticket_seconds;
        /* [control] */
        int n_admin_keys;
        char admin_keys[CONFIG_MAX_ADMIN_KEYS][KEYS_Z85_LEN + 1];
        /* [log] */
        char log_level[16];
        char log_file[512];
};

/** Fill CFG with defaults. */
void config_init(struct config *cfg);
/** Parse PATH into CFG (which config_init() prepared) and check every key and
 *  the rules between them (tier vs ID, child directly under parent, parent
 *  section present iff not city, downlink absent at stations). Returns 0, or
 *  -EINVAL with one sentence in ERR naming the file, line (where known), key
 *  and what is wrong, e.g.
 *    "vigild.conf:4: [node] id: 43019901002000000001 is not under parent
 *     43010400002000000001 (prefix 430104)". */
int config_load(const char *path, struct config *cfg, char *err, size_t errlen);
