/* link_gather: a parent's group commit. While one gathered transaction is
 * in flight, the small batches children send meanwhile gather in the next,
 * submitted as the first commits. Under an emergency a district's ten
 * stations ack within milliseconds of each other; each ack in its own
 * transaction queued ten commits (ten WAL flushes, on a cluster's worth
 * of them) before the last could go up. The reads of what they forward
 * go last, after every child's part. If a gathered transaction fails,
 * each child's batch is applied again alone, and the node applies alone
 * for LINK_GATHER_OFF_US, so one child's bad batch resynchronises only
 * that child (link_recv.c). */
#include "delivery/link-impl.h"

#include "base/log.h"
#include "base/vtime.h"
#include "db/db.h"

static void link_gather_submit(struct link_set *set);

bool link_gather_wanted(const struct link *l, int changes)
{
        return l->dir == LINK_TO_CHILD && l->in.applying == 0 && changes <= LINK_GATHER_CHANGES &&
               vtime_now_us() >= l->set->gather_off_us;
}

struct db_tx *link_gather_tx(struct link_set *set)
{
        if (!set->gather)
                set->gather = db_tx_new();
        return set->gather;
}

/* The open gathered transaction went: a child whose batch is in it may
 * submit again (behind it on the connection, in order), and its listeners
 * hear that its batch was submitted. What it queued meanwhile is applied
 * now: a child whose session restarted while its batch waited had nothing
 * else to wake it (issue 17). */
static void link_gather_sent(struct link *l, void *arg)
{
        (void)arg;
        if (!l->in.gather_open)
                return;
        l->in.gather_open = false;
        link_tell_submitted(l, l->in.gather_notes);
        link_pump_apply(l);
}

static void link_on_gathered(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct link_set *set = arg;

        (void)msg;   /* each child's part has heard (link_on_applied) */
        set->gather_busy = false;
        /* After every part, and after the uplink's read within it: a
         * kick only if that read could not be made (link_after_apply). */
        if (err == 0)
                link_set_kick_parent_after(set, tx);
        link_gather_submit(set);
}

static void link_gather_submit(struct link_set *set)
{
        struct db_tx *tx = set->gather;

        if (!tx || set->gather_busy)
                return;
        set->gather = NULL;
        set->gather_busy = true;
        set->gather_sent = db_tx_id(tx);
        link_set_read_parent_in(set, tx);
        db_submit(set->db, tx, link_on_gathered, set);
        link_set_for_children(set, link_gather_sent, NULL);
}

void link_gather_add(struct link *l, struct db_tx *tx, struct link_ctx *c, db_done_cb applied)
{
        c->gathered = true;
        l->in.gather_open = true;   /* nothing more of ours until it goes */
        l->in.gather_notes = c->notes;
        vigil_require(db_tx_also(tx, applied, c) == 0);
        link_gather_submit(l->set);
}
