/* fake_tables: kinds of change and snapshot sections for the unit tests of
 * lib/delivery (test_change, test_snapshot, test_link). They write what they
 * were given into the statements they add (fake_db.h shows them), so a
 * test sees what delivery passed through its tables, and in what order.
 *
 * Kinds (struct change_table):
 *   probe    LinkProbe, set-based, from either side. One statement per
 *            group: "fake_apply_probes"($1 bigint[] numbers, $2 text[]
 *            origins, $3 via, $4 uplink, $5 snapshot "t"/"f"). Origin
 *            "refuse" is refused ("probe refused"); origin "noted" notes
 *            probe_note.
 *   state    NodeState, set-based, from a child only (wrong_way "node state
 *            travels up only"), at most 3 rows a statement:
 *            "fake_apply_states"($1 text[] node IDs).
 *   removed  NodeRemoved, a statement each, from either side:
 *            "fake_apply_removed"($1 node ID, $2 version, $3 via); a
 *            negative version is refused ("negative version"); each notes
 *            removed_note.
 *
 * Sections (struct snapshot_table), in this order:
 *   0 paged  to the parent, paged: "fake_read_paged"($1 self, $2 peer,
 *            $3 key1, $4 key2, $5 limit); rows (number, key2) become probes
 *            with origin "paged"; a row whose number is "bad" fails to
 *            encode. Marked: "fake_marked_paged"($1 via); forwards
 *            "fake_forward_paged"($1 number, $2 uplink, $3 floor) per
 *            marked row.
 *   1 down   to a child, paged: "fake_read_down"($1 peer, $2 key1, $3 limit);
 *            probes with origin "down".
 *   2 small  to the parent, one page: "fake_read_small"($1 self, $2 peer);
 *            probes with origin "small". Marked: "fake_marked_small"($1 via);
 *            forwards "fake_forward_small"($1 number, $2 uplink, $3 floor). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "delivery/change.h"
#include "delivery/snapshot.h"
#include "vigil.pb-c.h"

struct db_tx;

struct fake_tables {
        struct change_table kinds;
        struct snapshot_table sections;
        unsigned probe_note, removed_note;
        /* How often the kinds' callbacks ran. */
        int rows, flushes, adds;
};

/** Register the kinds and sections above in T (zeroed first). */
void fake_tables_init(struct fake_tables *t);

/* Changes as a peer sends them; caller owns *RET (free). */
void fake_probe(uint64_t number, const char *origin, uint8_t **ret, size_t *ret_len);
void fake_state(const char *node_id, uint8_t **ret, size_t *ret_len);
void fake_removed(const char *node_id, int64_t version, uint8_t **ret, size_t *ret_len);

/** The probe number CHANGE (LEN bytes) carries; CHECK fails unless it is a
 *  probe, and its origin into ORIGIN (N bytes) if not NULL. */
uint64_t fake_probe_number(const uint8_t *change, size_t len, char *origin, size_t n);

/** The numbers of a "fake_apply_probes" statement I of TX into OUT (at
 *  most MAX); returns how many it carries. */
int fake_probe_numbers(const struct db_tx *tx, int i, uint64_t *out, int max);
/** Element K of a text[] (binary) parameter J of statement I, into OUT. */
void fake_text_element(const struct db_tx *tx, int i, int j, int k, char *out, size_t n);
/** Elements of a binary array parameter J of statement I. */
int fake_array_len(const struct db_tx *tx, int i, int j);

/** A section's page: N rows numbered FIRST, FIRST+1, ... (columns
 *  "number" and "key2" = "k<number>"). Caller owns it. */
PGresult *fake_section_rows(uint64_t first, int n);
