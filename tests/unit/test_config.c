/* Unit tests for lib/config.c: every key, every refusal, with line numbers. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/config.h"
#include "unit.h"

#define KEY1 "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
#define KEY2 "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
#define ROOT "root_sign_key = 3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29\n"

static char dir[] = "/tmp/vigil-test-config-XXXXXX";
static char path[128];
static char err[1024];
static struct config cfg;

static int load(const char *text)
{
        FILE *f = fopen(path, "w");
        CHECK(f != NULL);
        fputs(text, f);
        fclose(f);
        config_init(&cfg);
        err[0] = '\0';
        return config_load(path, &cfg, err, sizeof(err));
}

/* Load TEXT, expect a refusal whose message contains WANT. */
#define REFUSED(text, want) \
        do { \
                CHECK(load(text) == -EINVAL); \
                CHECK_CONTAINS(err, want); \
                CHECK_CONTAINS(err, path); \
        } while (0)

#define STATION_NODE \
        "[node]\nid = 43010401002000000001\nname = yuelu-1\ntier = station\nkey_dir = /k\n"
#define STATION_PARENT \
        "[parent]\nid = 43010400002000000001\nendpoint = tcp://127.0.0.1:7101\npublic_key = " KEY1 "\n" ROOT
#define STATION_REST \
        "[listen]\ncontrol = tcp://127.0.0.1:7202\n" \
        "[database]\nconninfo = host=/tmp port=5433 dbname=vigil_yuelu_1 user=postgres\n"
#define STATION STATION_NODE STATION_PARENT STATION_REST

#define CITY \
        "[node]\nid = 43010000002000000001\nname = city\ntier = city\nkey_dir = /k\n" \
        "[listen]\ncontrol = tcp://127.0.0.1:7000\ndownlink = tcp://127.0.0.1:7001\n" \
        "[database]\nconninfo = dbname=vigil_city\n"

static void test_defaults_and_station(void)
{
        CHECK(load(STATION) == 0);
        CHECK_STREQ(cfg.node_id, "43010401002000000001");
        CHECK_STREQ(cfg.name, "yuelu-1");
        CHECK(cfg.tier == TIER_STATION);
        CHECK_STREQ(cfg.key_dir, "/k");
        CHECK_STREQ(cfg.parent_id, "43010400002000000001");
        CHECK_STREQ(cfg.parent_endpoint, "tcp://127.0.0.1:7101");
        CHECK_STREQ(cfg.parent_public_key, KEY1);
        CHECK_STREQ(cfg.root_sign_key, "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29");
        CHECK_STREQ(cfg.control_endpoint, "tcp://127.0.0.1:7202");
        CHECK_STREQ(cfg.downlink_endpoint, "");
        CHECK_STREQ(cfg.conninfo, "host=/tmp port=5433 dbname=vigil_yuelu_1 user=postgres");
        CHECK(cfg.heartbeat_ms == 1000);
        CHECK(cfg.heartbeat_misses == 3);
        CHECK(cfg.window == 10000);
        CHECK(cfg.reconnect_min_ms == 100);
        CHECK(cfg.reconnect_max_ms == 2000);
        CHECK(cfg.stall_seconds == 30);
        CHECK(cfg.backlog_alarm_seconds == 300);
        CHECK(cfg.emergency_link_delay_ms == 200);
        CHECK(cfg.max_approval_hours == 72);
        CHECK(cfg.max_delegation_days == 30);
        CHECK(cfg.n_admin_keys == 0);
        CHECK_STREQ(cfg.log_level, "info");
        CHECK_STREQ(cfg.log_file, "");
}

static void test_city_and_district(void)
{
        CHECK(load(CITY) == 0);
        CHECK(cfg.tier == TIER_CITY);
        CHECK_STREQ(cfg.downlink_endpoint, "tcp://127.0.0.1:7001");
        CHECK_STREQ(cfg.parent_id, "");

        CHECK(load("[node]\nid = 43010400002000000001\nname = yuelu\ntier = district\nkey_dir = /k\n"
                   "[parent]\nid = 43010000002000000001\nendpoint = tcp://127.0.0.1:7001\n"
                   "public_key = " KEY2 "\n" ROOT
                   "[listen]\ncontrol = tcp://127.0.0.1:7100\ndownlink = tcp://127.0.0.1:7101\n"
                   "[database]\nconninfo = dbname=vigil_yuelu\n") == 0);
        CHECK(cfg.tier == TIER_DISTRICT);
        CHECK_STREQ(cfg.parent_public_key, KEY2);
}

static void test_all_optional_keys(void)
{
        CHECK(load(STATION
                   "[link]\nheartbeat_ms = 250\nheartbeat_misses = 5\nwindow = 64\n"
                   "reconnect_min_ms = 50\nreconnect_max_ms = 5000\nstall_seconds = 12\nbacklog_alarm_seconds = 7\n"
                   "[emergency]\nlink_delay_ms = 0\n"
                   "[control]\nadmin_keys = " KEY1 " " KEY2 "\n"
                   "[log]\nlevel = debug\nfile = logs/vigild.log\n"
                   "; a comment\n# another\n") == 0);
        CHECK(cfg.heartbeat_ms == 250);
        CHECK(cfg.heartbeat_misses == 5);
        CHECK(cfg.window == 64);
        CHECK(cfg.reconnect_min_ms == 50);
        CHECK(cfg.reconnect_max_ms == 5000);
        CHECK(cfg.stall_seconds == 12);
        CHECK(cfg.backlog_alarm_seconds == 7);
        CHECK(cfg.emergency_link_delay_ms == 0);
        CHECK(cfg.n_admin_keys == 2);
        CHECK_STREQ(cfg.admin_keys[0], KEY1);
        CHECK_STREQ(cfg.admin_keys[1], KEY2);
        CHECK_STREQ(cfg.log_level, "debug");
        char want[256];
        snprintf(want, sizeof(want), "%s/logs/vigild.log", dir);  /* relative to the file */
        CHECK_STREQ(cfg.log_file, want);

        /* admin_keys and conninfo continue on indented lines */
        CHECK(load(STATION_NODE STATION_PARENT
                   "[listen]\ncontrol = tcp://127.0.0.1:7202\n"
                   "[database]\nconninfo = host=/tmp\n    dbname=x\n"
                   "[control]\nadmin_keys = " KEY1 "\n    " KEY2 "\n\t" KEY1 "\n") == 0);
        CHECK(cfg.n_admin_keys == 3);
        CHECK_STREQ(cfg.admin_keys[2], KEY1);
        CHECK_STREQ(cfg.conninfo, "host=/tmp dbname=x");
}

static void test_refusals_with_lines(void)
{
        /* unknown key: line 6 */
        REFUSED(STATION_NODE "colour = red\n" STATION_PARENT STATION_REST, ":6: [node] colour: unknown key");
        REFUSED(STATION "[extras]\nx = 1\n", "[extras]: unknown section");
        REFUSED(STATION_NODE "name = again\n" STATION_PARENT STATION_REST,
                ":6: [node] name: given twice (first on line 3)");
        REFUSED("[node]\nid = 4301\n", ":2: [node] id: \"4301\" is not a GB/T 28181 node ID");
        REFUSED("[node]\ntier = county\n", ":2: [node] tier: \"county\" is not a tier");
        REFUSED("[node]\nname =\n", ":2: [node] name: empty value");
        REFUSED("[node]\nthis line is broken\n", ":2: syntax error");
        REFUSED("[node]\nid = 43010000002000000001\n  tier = city\n",
                ":3: [node] id: only admin_keys and conninfo may continue");

        char longline[400];
        snprintf(longline, sizeof(longline), "[node]\nname = %0300d\n", 7);
        REFUSED(longline, ":2: line longer than");
        char longname[200];
        snprintf(longname, sizeof(longname), "[node]\nname = %0100d\n", 7);
        REFUSED(longname, ":2: [node] name: longer than 63 characters");
        REFUSED("[node]\nname = caf\xc3\n", ":2: [node] name: not valid UTF-8");
}

static void test_tier_rules(void)
{
        /* wrong type */
        REFUSED("[node]\nid = 43010401001310000001\nname = x\ntier = station\nkey_dir = /k\n"
                STATION_PARENT STATION_REST, ":2: [node] id: node ID 43010401001310000001 has type 131");
        /* station tier with a district code */
        REFUSED("[node]\nid = 43010400002000000001\nname = x\ntier = station\nkey_dir = /k\n"
                STATION_PARENT STATION_REST,
                ":2: [node] id: node ID 43010400002000000001 is a district centre code");
        /* not under the parent given */
        REFUSED(STATION_NODE
                "[parent]\nid = 43010200002000000001\nendpoint = tcp://127.0.0.1:7101\npublic_key = " KEY1 "\n" ROOT
                STATION_REST,
                ":2: [node] id: node ID 43010401002000000001 is not under parent 43010200002000000001 (prefix 430102)");
        /* station directly under the city */
        REFUSED(STATION_NODE
                "[parent]\nid = 43010000002000000001\nendpoint = tcp://127.0.0.1:7101\npublic_key = " KEY1 "\n" ROOT
                STATION_REST, ":7: [parent] id: node ID 43010000002000000001 is a city centre code");
        /* parent forbidden at the city */
        REFUSED(CITY "[parent]\nid = 43010400002000000001\n", ":12: [parent] id: the city is the root");
        /* parent required elsewhere */
        REFUSED(STATION_NODE STATION_REST, "[parent] id is missing");
        REFUSED(STATION_NODE "[parent]\nid = 43010400002000000001\npublic_key = " KEY1 "\n" ROOT STATION_REST,
                "[parent] endpoint is missing");
        REFUSED(STATION_NODE "[parent]\nid = 43010400002000000001\nendpoint = tcp://127.0.0.1:7101\n"
                STATION_REST, "[parent] public_key is missing");
        /* Signed decisions: the city's signing key, required below the city,
         * 64 hex digits, forbidden at the city */
        REFUSED(STATION_NODE "[parent]\nid = 43010400002000000001\nendpoint = tcp://127.0.0.1:7101\n"
                "public_key = " KEY1 "\n" STATION_REST, "[parent] root_sign_key is missing");
        REFUSED(STATION_NODE "[parent]\nid = 43010400002000000001\nendpoint = tcp://127.0.0.1:7101\n"
                "public_key = " KEY1 "\nroot_sign_key = " KEY2 "\n" STATION_REST,
                ":10: [parent] root_sign_key: \"" KEY2 "\" is not a 64-digit hex Ed25519 public key");
        REFUSED(CITY "[parent]\n" ROOT, ":12: [parent] root_sign_key: the city is the root");
        /* downlink forbidden at stations, required at city and district */
        REFUSED(STATION "[listen]\ndownlink = tcp://127.0.0.1:7203\n", ":16: [listen] downlink: a station has no children");
        REFUSED("[node]\nid = 43010000002000000001\nname = city\ntier = city\nkey_dir = /k\n"
                "[listen]\ncontrol = tcp://127.0.0.1:7000\n[database]\nconninfo = dbname=x\n",
                "[listen] downlink is missing");
        /* required keys */
        REFUSED("[node]\nname = x\ntier = city\nkey_dir = /k\n", "[node] id is missing");
        REFUSED("[node]\nid = 43010000002000000001\ntier = city\nkey_dir = /k\n", "[node] name is missing");
        REFUSED("[node]\nid = 43010000002000000001\nname = x\nkey_dir = /k\n", "[node] tier is missing");
        REFUSED("[node]\nid = 43010000002000000001\nname = x\ntier = city\n", "[node] key_dir is missing");
        REFUSED(STATION_NODE STATION_PARENT "[database]\nconninfo = dbname=x\n", "[listen] control is missing");
        REFUSED(STATION_NODE STATION_PARENT "[listen]\ncontrol = tcp://127.0.0.1:7202\n",
                "[database] conninfo is missing");
}

static void test_value_refusals(void)
{
        REFUSED(STATION "[link]\nheartbeat_ms = 49\n", ":16: [link] heartbeat_ms: \"49\" is not a whole number from 50 to 60000");
        REFUSED(STATION "[link]\nheartbeat_ms = 60001\n", "heartbeat_ms");
        REFUSED(STATION "[link]\nheartbeat_ms = 1e3\n", "heartbeat_ms");
        REFUSED(STATION "[link]\nheartbeat_ms = 99999999999999999999\n", "heartbeat_ms");
        REFUSED(STATION "[link]\nheartbeat_misses = 1\n", "from 2 to 100");
        REFUSED(STATION "[link]\nheartbeat_misses = 101\n", "from 2 to 100");
        REFUSED(STATION "[link]\nwindow = 0\n", "[link] window: \"0\" is not a whole number from 1 to 100000");
        REFUSED(STATION "[link]\nwindow = 100001\n", "window");
        REFUSED(STATION "[link]\nstall_seconds = 1\n", "[link] stall_seconds: \"1\" is not a whole number from 2 to 3600");
        REFUSED(STATION "[link]\nbacklog_alarm_seconds = 0\n",
                "[link] backlog_alarm_seconds: \"0\" is not a whole number from 1 to 604800");
        REFUSED(STATION "[link]\nreconnect_min_ms = 3000\n", "reconnect_min_ms (3000) is larger than reconnect_max_ms (2000)");
        CHECK(load(STATION "[link]\nheartbeat_ms = 50\nheartbeat_misses = 100\nwindow = 100000\n") == 0);
        REFUSED(STATION "[emergency]\nlink_delay_ms = 5001\n",
                ":16: [emergency] link_delay_ms: \"5001\" is not a whole number from 0 to 5000");
        REFUSED(STATION "[emergency]\nlink_delay_ms = -1\n", "link_delay_ms");
        REFUSED(STATION "[emergency]\nprobes = 4\n", "[emergency] probes: unknown key");
        CHECK(load(STATION "[emergency]\nlink_delay_ms = 5000\n") == 0 && cfg.emergency_link_delay_ms == 5000);
        /* Art 19 bounds (README "Who must act for a view"). */
        REFUSED(STATION "[access]\nmax_approval_hours = 0\n", "[access] max_approval_hours");
        REFUSED(STATION "[access]\nmax_delegation_days = 367\n", "[access] max_delegation_days");
        CHECK(load(STATION "[access]\nmax_approval_hours = 8\nmax_delegation_days = 7\n") == 0 &&
              cfg.max_approval_hours == 8 && cfg.max_delegation_days == 7);
        REFUSED(STATION "[control]\nadmin_keys = " KEY1 " nope\n", ":16: [control] admin_keys: \"nope\" is not a 40-character Z85");
        REFUSED(STATION_NODE "[parent]\nid = 43010400002000000001\nendpoint = tcp://127.0.0.1:7101\n"
                "public_key = 0123456789012345678901234567890123456789x\n" STATION_REST,
                ":9: [parent] public_key: ");
        REFUSED(STATION_NODE "[parent]\nid = 43010400002000000001\nendpoint = http://x:1\npublic_key = " KEY1 "\n" ROOT
                STATION_REST, ":8: [parent] endpoint: \"http://x:1\" is not a ZeroMQ endpoint");
        REFUSED(STATION_NODE "[parent]\nid = 43010400002000000001\nendpoint = tcp://127.0.0.1\npublic_key = " KEY1 "\n" ROOT
                STATION_REST, "is not tcp://HOST:PORT");
        REFUSED(STATION_NODE "[parent]\nid = 43010400002000000001\nendpoint = tcp://127.0.0.1:70000\npublic_key = " KEY1 "\n" ROOT
                STATION_REST, "is not tcp://HOST:PORT");
        REFUSED(STATION "[log]\nlevel = loud\n", ":16: [log] level: \"loud\" is not debug, info, warn or error");

        char many[4096];
        strcpy(many, STATION "[control]\nadmin_keys = " KEY1 "\n");
        for (int i = 0; i < CONFIG_MAX_ADMIN_KEYS; i++)
                strcat(many, "  " KEY2 "\n");
        REFUSED(many, "more than 16 keys");

        CHECK(config_load("/nonexistent/vigild.conf", &cfg, err, sizeof(err)) == -ENOENT);
        CHECK_CONTAINS(err, "/nonexistent/vigild.conf");
}

static void test_untouched_on_failure(void)
{
        CHECK(load(STATION) == 0);
        struct config before = cfg;
        FILE *f = fopen(path, "w");
        CHECK(f != NULL);
        fputs(CITY "[link]\nwindow = 0\n", f);
        fclose(f);
        CHECK(config_load(path, &cfg, err, sizeof(err)) == -EINVAL);
        CHECK(memcmp(&before, &cfg, sizeof(cfg)) == 0);
}

/* [gate]: at a station only; a wildcard listen needs its public name. */
static void test_gate(void)
{
        CHECK(load(STATION) == 0);
        CHECK_STREQ(cfg.gate_host, "");
        CHECK_STREQ(cfg.gate_public_url, "");
        CHECK(cfg.ticket_seconds == 300);
        CHECK(load(STATION "[gate]\nlisten = 127.0.0.1:8554\n") == 0);
        CHECK_STREQ(cfg.gate_host, "127.0.0.1");
        CHECK(cfg.gate_port == 8554);
        CHECK_STREQ(cfg.gate_public_url, "rtsp://127.0.0.1:8554");
        CHECK(load(STATION "[gate]\nlisten = [::1]:8554\nticket_seconds = 60\n") == 0);
        CHECK_STREQ(cfg.gate_public_url, "rtsp://[::1]:8554");
        CHECK(cfg.ticket_seconds == 60);
        CHECK(load(STATION "[gate]\nlisten = 0.0.0.0:8554\npublic_url = rtsp://10.0.0.5:8554\n") == 0);
        CHECK_STREQ(cfg.gate_public_url, "rtsp://10.0.0.5:8554");
        REFUSED(STATION "[gate]\nlisten = 0.0.0.0:8554\n", "public_url");
        REFUSED(STATION "[gate]\nlisten = gate.example:8554\n", "numeric");
        REFUSED(STATION "[gate]\nlisten = 127.0.0.1\n", "HOST:PORT");
        REFUSED(STATION "[gate]\nlisten = 127.0.0.1:0\n", "HOST:PORT");
        REFUSED(STATION "[gate]\npublic_url = rtsp://10.0.0.5:8554\n", "without [gate] listen");
        REFUSED(STATION "[gate]\nlisten = 127.0.0.1:8554\npublic_url = rtsp://u:p@10.0.0.5\n", "no user");
        REFUSED(STATION "[gate]\nlisten = 127.0.0.1:8554\npublic_url = rtsp://10.0.0.5/x\n", "no path");
        REFUSED(STATION "[gate]\nlisten = 127.0.0.1:8554\nticket_seconds = 5\n", "10 to 3600");
        REFUSED(STATION "[gate]\nlisten = 127.0.0.1:8554\nticket_seconds = 86400\n", "10 to 3600");
        REFUSED(CITY "[gate]\nlisten = 127.0.0.1:8554\n", "not at a city");
}

int main(void)
{
        CHECK(mkdtemp(dir) != NULL);
        snprintf(path, sizeof(path), "%s/vigild.conf", dir);
        RUN(test_defaults_and_station);
        RUN(test_city_and_district);
        RUN(test_all_optional_keys);
        RUN(test_refusals_with_lines);
        RUN(test_tier_rules);
        RUN(test_value_refusals);
        RUN(test_untouched_on_failure);
        RUN(test_gate);
        unlink(path);
        rmdir(dir);
        return 0;
}
