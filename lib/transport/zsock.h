/* zsock: one ZeroMQ socket on the libuv loop.
 *
 * ZMQ_FD is edge-triggered and only means "maybe" (NOTES.md), so the poll
 * handle only wakes the loop; a prepare handle reads ZMQ_EVENTS before every
 * loop iteration and, while there is input, keeps an idle handle running so
 * the loop does not sleep; a check handle receives a bounded burst of
 * messages. That way input that arrives while we are sending is never
 * missed, and one busy peer cannot starve the rest of the loop. */
#pragma once

#include <stddef.h>
#include <uv.h>
#include <zmq.h>

#define ZSOCK_MAX_FRAMES 8

struct zsock;

/** One received message: up to ZSOCK_MAX_FRAMES frames (more are counted as
 *  malformed and dropped before the callback). The frames are closed after
 *  the callback returns. */
typedef void (*zsock_recv_cb)(struct zsock *zs, zmq_msg_t *frames, int nframes);

struct zsock {
        void *sock;              /* the ZeroMQ socket (owned) */
        void *data;              /* for the owner */
        zsock_recv_cb on_recv;
        uv_poll_t poll;
        uv_prepare_t prepare;
        uv_check_t check;
        uv_idle_t idle;
        int closing;
        int n_open_handles;
        void (*on_closed)(struct zsock *zs);
        unsigned long too_many_frames;
};

/** Put SOCK on LOOP; ZS takes ownership of SOCK. Returns 0 or negative errno. */
int zsock_init(struct zsock *zs, uv_loop_t *loop, void *sock, zsock_recv_cb on_recv, void *data);
/** Close the socket (linger 0) and the handles; ON_CLOSED (may be NULL) runs
 *  once every handle is closed, after which ZS may be freed. */
void zsock_close(struct zsock *zs, void (*on_closed)(struct zsock *zs));

/** Send a message of NFRAMES frames without blocking. Returns 0, -EAGAIN
 *  (peer's queue full or not connected), -EHOSTUNREACH (ROUTER: unknown
 *  peer) or another negative errno. */
int zsock_send(struct zsock *zs, const void *const *frames, const size_t *lens, int nframes);
