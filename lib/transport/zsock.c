#include "transport/zsock.h"

#include <errno.h>
#include <string.h>

#include "base/log.h"

/* At most this many messages per loop iteration per socket. */
#define ZSOCK_BURST 256

static int zsock_events(struct zsock *zs)
{
        int events = 0;
        size_t len = sizeof(events);

        if (zmq_getsockopt(zs->sock, ZMQ_EVENTS, &events, &len) < 0)
                return 0;
        return events;
}

static void zsock_drop_rest(struct zsock *zs)
{
        int more;
        size_t len = sizeof(more);
        zmq_msg_t m;

        do {
                zmq_msg_init(&m);
                if (zmq_msg_recv(&m, zs->sock, ZMQ_DONTWAIT) < 0) {
                        zmq_msg_close(&m);
                        return;
                }
                zmq_msg_close(&m);
                more = 0;
                zmq_getsockopt(zs->sock, ZMQ_RCVMORE, &more, &len);
        } while (more);
}

/* Receive one whole message; 0 if one was delivered, -EAGAIN if none. */
static int zsock_recv_one(struct zsock *zs)
{
        zmq_msg_t frames[ZSOCK_MAX_FRAMES];
        int n = 0, more = 1, i;
        size_t len = sizeof(more);

        while (more) {
                if (n == ZSOCK_MAX_FRAMES) {
                        zs->too_many_frames++;
                        zsock_drop_rest(zs);
                        for (i = 0; i < n; i++)
                                zmq_msg_close(&frames[i]);
                        return 0;
                }
                zmq_msg_init(&frames[n]);
                if (zmq_msg_recv(&frames[n], zs->sock, ZMQ_DONTWAIT) < 0) {
                        int e = errno;
                        zmq_msg_close(&frames[n]);
                        for (i = 0; i < n; i++)
                                zmq_msg_close(&frames[i]);
                        return e == EAGAIN ? -EAGAIN : -e;
                }
                n++;
                zmq_getsockopt(zs->sock, ZMQ_RCVMORE, &more, &len);
        }
        zs->on_recv(zs, frames, n);
        for (i = 0; i < n; i++)
                zmq_msg_close(&frames[i]);
        return 0;
}

static void zsock_on_poll(uv_poll_t *h, int status, int events)
{
        /* Only a wake-up: the prepare/check pair does the work. */
        (void)h; (void)status; (void)events;
}

static void zsock_on_idle(uv_idle_t *h)
{
        (void)h;
}

static void zsock_on_prepare(uv_prepare_t *h)
{
        struct zsock *zs = h->data;

        if (zs->closing)
                return;
        if (zsock_events(zs) & ZMQ_POLLIN)
                uv_idle_start(&zs->idle, zsock_on_idle);
        else
                uv_idle_stop(&zs->idle);
}

static void zsock_on_check(uv_check_t *h)
{
        struct zsock *zs = h->data;
        int i;

        for (i = 0; i < ZSOCK_BURST && !zs->closing; i++) {
                if (!(zsock_events(zs) & ZMQ_POLLIN))
                        break;
                if (zsock_recv_one(zs) < 0)
                        break;
        }
}

int zsock_init(struct zsock *zs, uv_loop_t *loop, void *sock, zsock_recv_cb on_recv, void *data)
{
        int fd;
        size_t len = sizeof(fd);
        int r;

        memset(zs, 0, sizeof(*zs));
        zs->sock = sock;
        zs->on_recv = on_recv;
        zs->data = data;
        if (zmq_getsockopt(sock, ZMQ_FD, &fd, &len) < 0)
                return -errno;
        r = uv_poll_init(loop, &zs->poll, fd);
        if (r < 0)
                return r;
        uv_prepare_init(loop, &zs->prepare);
        uv_check_init(loop, &zs->check);
        uv_idle_init(loop, &zs->idle);
        zs->poll.data = zs->prepare.data = zs->check.data = zs->idle.data = zs;
        zs->n_open_handles = 4;
        uv_poll_start(&zs->poll, UV_READABLE, zsock_on_poll);
        uv_prepare_start(&zs->prepare, zsock_on_prepare);
        uv_check_start(&zs->check, zsock_on_check);
        return 0;
}

static void zsock_on_handle_closed(uv_handle_t *h)
{
        struct zsock *zs = h->data;

        if (--zs->n_open_handles == 0 && zs->on_closed)
                zs->on_closed(zs);
}

void zsock_close(struct zsock *zs, void (*on_closed)(struct zsock *zs))
{
        int linger = 0;

        if (zs->closing)
                return;
        zs->closing = 1;
        zs->on_closed = on_closed;
        /* The poll handle must stop watching ZMQ_FD before zmq closes it. */
        uv_close((uv_handle_t *)&zs->poll, zsock_on_handle_closed);
        uv_close((uv_handle_t *)&zs->prepare, zsock_on_handle_closed);
        uv_close((uv_handle_t *)&zs->check, zsock_on_handle_closed);
        uv_close((uv_handle_t *)&zs->idle, zsock_on_handle_closed);
        zmq_setsockopt(zs->sock, ZMQ_LINGER, &linger, sizeof(linger));
        zmq_close(zs->sock);
        zs->sock = NULL;
}

int zsock_send(struct zsock *zs, const void *const *frames, const size_t *lens, int nframes)
{
        int i;

        if (zs->closing)
                return -ENOTCONN;
        for (i = 0; i < nframes; i++) {
                int flags = ZMQ_DONTWAIT | (i + 1 < nframes ? ZMQ_SNDMORE : 0);
                if (zmq_send(zs->sock, frames[i], lens[i], flags) < 0) {
                        /* A ROUTER reports failure on the first frame only; a
                         * failed later frame cannot happen for DEALER/ROUTER
                         * once the first was queued. */
                        return -errno;
                }
        }
        return 0;
}
