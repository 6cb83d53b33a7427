#include "delivery/change.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "db/db.h"
#include "wire/wire.h"

struct change_batch {
        const struct change_table *t;
        struct db_tx *tx;
        const char *via, *uplink;
        bool from_parent, snapshot;
        const char *epoch;                      /* the next change's position (change_batch_at) */
        uint64_t seq;
        bool refused_unknown;                   /* the last change refused was of a newer kind */
        const struct change_kind *group;        /* set-based kind gathering rows, or NULL */
        unsigned notes;
        struct sqlarray cols[CHANGE_MAX_COLUMNS];
};

void change_register(struct change_table *t, const struct change_kind *k)
{
        vigil_require(t->n < CHANGE_MAX_KINDS && !change_kind_of(t, k->kind_case));
        vigil_require((k->add != NULL) != (k->row != NULL && k->flush != NULL));
        t->kinds[t->n++] = *k;
}

unsigned change_note_new(struct change_table *t)
{
        unsigned bit = 1u;

        while (t->notes & bit)
                bit <<= 1;
        vigil_require(bit != 0);
        t->notes |= bit;
        return bit;
}

const struct change_kind *change_kind_of(const struct change_table *t, int kind_case)
{
        int i;

        for (i = 0; i < t->n; i++)
                if (t->kinds[i].kind_case == kind_case)
                        return &t->kinds[i];
        return NULL;
}

struct change_batch *change_batch_new(const struct change_table *t, struct db_tx *tx, const char *via,
                                      const char *uplink, bool from_parent, bool snapshot)
{
        struct change_batch *b = calloc(1, sizeof(*b));

        vigil_require(b != NULL);
        b->t = t;
        b->tx = tx;
        b->via = via;
        b->uplink = uplink;
        b->from_parent = from_parent;
        b->snapshot = snapshot;
        return b;
}

/* Emit the rows the set-based kind gathered. */
static void change_flush(struct change_batch *b)
{
        if (b->group && b->cols[0].n > 0)
                b->group->flush(b->group->arg, b, b->cols);
        b->group = NULL;
}

int change_batch_add(struct change_batch *b, const uint8_t *change, size_t len, char *err, size_t errlen)
{
        const struct change_kind *k;
        Vigil__Change *c = NULL;
        int r;

        b->refused_unknown = false;
        r = wire_decode_change(change, len, &c, err, errlen);
        if (r < 0)
                return r;
        k = change_kind_of(b->t, (int)c->kind_case);
        if (!k && c->kind_case == VIGIL__CHANGE__KIND__NOT_SET && c->base.n_unknown_fields > 0 && !b->from_parent &&
            b->uplink && !b->snapshot) {
                /* Issue 17: a kind this node does not know (a newer child:
                 * protobuf-c keeps its field in unknown_fields, the case
                 * NOT_SET) goes up as it came, the bytes unchanged, for a
                 * tier that knows it; a snapshot's item does not (every
                 * snapshot would send it again). */
                change_flush(b);
                change_forward(b->tx, b->uplink, change, len);
                r = CHANGE_FORWARDED;
        } else if (!k && c->kind_case == VIGIL__CHANGE__KIND__NOT_SET && c->base.n_unknown_fields > 0) {
                snprintf(err, errlen, "a kind of change unknown here (field %u)%s", c->base.unknown_fields[0].tag,
                         b->from_parent ? ", from the parent"
                                        : b->uplink ? ", in a snapshot: not forwarded" : ", and nowhere to forward it");
                b->refused_unknown = !b->snapshot;
                r = -EBADMSG;
        } else if (!k) {
                snprintf(err, errlen, "unknown kind of change");
                r = -EBADMSG;
        } else if (!(k->from & (b->from_parent ? CHANGE_FROM_PARENT : CHANGE_FROM_CHILD))) {
                snprintf(err, errlen, "%s", k->wrong_way);
                r = -EBADMSG;
        } else if (k->add) {
                change_flush(b);
                r = k->add(k->arg, b, c, change, len, err, errlen);
        } else {
                if (b->group != k)
                        change_flush(b);
                b->group = k;
                r = k->row(k->arg, b, b->cols, c, change, len, err, errlen);
                /* Flush big groups early: bounded statement size. */
                if (r == 0 && b->cols[0].n >= (k->group_max ? k->group_max : CHANGE_GROUP_MAX))
                        change_flush(b);
        }
        wire_change_free(c);
        return r;
}

void change_batch_at(struct change_batch *b, const char *epoch, uint64_t seq)
{
        b->epoch = epoch;
        b->seq = seq;
}

bool change_batch_refused_unknown(const struct change_batch *b)
{
        return b->refused_unknown;
}

const char *change_batch_epoch(const struct change_batch *b)
{
        return b->seq ? b->epoch : NULL;
}

uint64_t change_batch_seq(const struct change_batch *b)
{
        return b->seq;
}

const char *change_kind_name(const struct change_table *t, const uint8_t *change, size_t len)
{
        Vigil__Change *c = NULL;
        const struct change_kind *k;

        if (wire_decode_change(change, len, &c, NULL, 0) < 0)
                return NULL;
        k = change_kind_of(t, (int)c->kind_case);
        wire_change_free(c);
        return k ? k->name : NULL;
}

unsigned change_batch_finish(struct change_batch *b)
{
        unsigned notes;
        int i;

        if (!b)
                return 0;
        change_flush(b);
        for (i = 0; i < CHANGE_MAX_COLUMNS; i++)
                sqlarray_deinit(&b->cols[i]);
        notes = b->notes;
        free(b);
        return notes;
}

struct db_tx *change_batch_tx(const struct change_batch *b)
{
        return b->tx;
}

const char *change_batch_via(const struct change_batch *b)
{
        return b->via;
}

const char *change_batch_uplink(const struct change_batch *b)
{
        return b->uplink;
}

bool change_batch_snapshot(const struct change_batch *b)
{
        return b->snapshot;
}

void change_batch_note(struct change_batch *b, unsigned note)
{
        b->notes |= note;
}

void change_forward(struct db_tx *tx, const char *to, const uint8_t *change, size_t len)
{
        const char *p[2] = { to, (const char *)change };
        int lens[2] = { 0, (int)len }, fmts[2] = { 0, 1 };

        db_tx_add(tx, "SELECT outbox_append($1, ARRAY[$2::bytea])", 2, p, lens, fmts);
}
