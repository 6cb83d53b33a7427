/* view: `vigilctl view CAMERA` from any node. The request is routed down
 * by camera ID prefix, hop by hop over the links, to the station that owns
 * the camera, which alone decides (Art 19, 29(2): a live grant for this
 * officer, camera and action, or a refusal citing the article), logs it
 * (Art 23(5)) and answers with the stream URL and a ticket it signs; the
 * answer travels back the same way. A hop that gets no answer within
 * VIEW_TIMEOUT_MS says so. The command itself is control/viewctl.c. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "base/keys.h"
#include "delivery/delivery.h"
#include "features/audit.h"
#include "vigil.pb-c.h"

#define VIEW_TIMEOUT_MS 5000
/* A request signed longer ago than this (or this far in the future: the
 * clocks of two nodes may differ) is refused: a hop answers within
 * VIEW_TIMEOUT_MS, so an honest request is seconds old at most; the rest
 * is for clocks that drift. Within it, each signed request gives one
 * answer: the station remembers what it decided (VIEW_SEEN_SLOTS). */
#define VIEW_REQUEST_MAX_AGE_US (30LL * 1000000)
#define VIEW_SEEN_SLOTS 65536
#define VIEW_SEEN_PROBES 64

/* The answer to a request, wherever it goes. Borrowed by whoever is told. */
struct view_answer {
        bool granted;
        const char *url, *ticket, *error, *article, *station;
        int64_t expires_at_us;
};

/** The answer to a request made here (A is NULL when the node stops before
 *  one came: nothing is to be answered then, only freed). */
typedef void (*view_answer_fn)(void *arg, const struct view_answer *a);

struct view_pending;

/* A signed request decided at this station within VIEW_REQUEST_MAX_AGE_US. */
struct view_seen {
        uint8_t sig[32];
        int64_t signed_at_us;
};

struct view {
        struct delivery *d;
        const struct node_keys *keys;   /* a station signs its tickets */
        struct audit *audit;            /* a decision's log goes up at once */
        struct view_pending *pending;   /* requests sent down, awaiting their reply */
        uint64_t next_id;
        uv_timer_t timer;
        bool timer_init;
        unsigned long requests, granted, refused, timeouts;
        /* Signed requests (Art 19): those decided here lately, and since when
         * this station remembers (a request signed before it started may
         * have been answered by the process before). */
        struct view_seen *seen;
        int64_t started_us;
        unsigned long refused_signature;
};

/** Set V up on D: view requests from the parent and answers from children
 *  come to it. KEYS and AUDIT are borrowed. 0 or a libuv error. */
int view_init(struct view *v, struct delivery *d, const struct node_keys *keys, struct audit *audit);
void view_close(struct view *v);
/** Route R, made here: decided here if this station owns the camera, else
 *  sent down; ANSWER(ARG, …) gets the answer, once. */
void view_request(struct view *v, const Vigil__ViewRequest *r, view_answer_fn answer, void *arg);
/** Log here (Art 23(5): every attempt is a record, where it was refused) a
 *  view ACTION of CAMERA by ACTOR refused for MESSAGE (ARTICLE may be NULL),
 *  and send the log up. Fire and forget: a failure is logged, not told. */
void view_log_refusal(struct view *v, const char *actor, const char *camera, const char *action,
                      const char *article, const char *message);
