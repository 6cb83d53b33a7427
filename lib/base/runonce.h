/* runonce: "one runs; one more asked for meanwhile follows it".
 *
 * Sweeps, reloads and forwards run one at a time on the node's database
 * connection; a call while one is in flight must neither start a second
 * nor be lost, so it is remembered and run once the first is done:
 *
 *      if (!runonce_begin(&m->forwarding))
 *              return;                   // running: it follows
 *      ... submit; in the callback:
 *      if (runonce_end(&m->forwarding))
 *              module_forward(m);        // asked for meanwhile
 */
#pragma once

#include <stdbool.h>

struct runonce {
        bool running;
        bool again;     /* asked for while running */
};

/** True if the caller may start now (and must call runonce_end when
 *  done); false if one is running, which then is followed by another. */
bool runonce_begin(struct runonce *r);
/** The run is done: true if another was asked for meanwhile (the caller
 *  starts it). */
bool runonce_end(struct runonce *r);
/** Ask for another run after the one in flight (a full batch: more waits). */
void runonce_again(struct runonce *r);
