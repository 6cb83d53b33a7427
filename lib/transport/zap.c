#include "transport/zap.h"

#include <errno.h>
#include <string.h>
#include <zmq.h>

#include "base/keys.h"
#include "base/log.h"


static void zap_reply(struct zap *z, const zmq_msg_t *version, const zmq_msg_t *request_id,
                      const char *status, const char *text, const char *user)
{
        zmq_send(z->zs.sock, zmq_msg_data((zmq_msg_t *)version), zmq_msg_size((zmq_msg_t *)version), ZMQ_SNDMORE);
        zmq_send(z->zs.sock, zmq_msg_data((zmq_msg_t *)request_id), zmq_msg_size((zmq_msg_t *)request_id), ZMQ_SNDMORE);
        zmq_send(z->zs.sock, status, strlen(status), ZMQ_SNDMORE);
        zmq_send(z->zs.sock, text, strlen(text), ZMQ_SNDMORE);
        zmq_send(z->zs.sock, user, strlen(user), ZMQ_SNDMORE);
        zmq_send(z->zs.sock, "", 0, 0);
}

static void zap_copy(char *dst, size_t n, zmq_msg_t *m)
{
        size_t len = zmq_msg_size(m);

        if (len >= n)
                len = n - 1;
        memcpy(dst, zmq_msg_data(m), len);
        dst[len] = '\0';
}

void zap_handle(struct zap *z, zmq_msg_t *f, int n)
{
        char domain[64], address[64], mechanism[16], key[KEYS_Z85_LEN + 1];
        char user[256] = "", esc[128];
        int r;

        /* 0 version, 1 request id, 2 domain, 3 address, 4 routing id,
         * 5 mechanism, 6 credentials (CURVE: the 32-byte client key) */
        if (n < 6) {
                log_warn("zap", "msg=\"malformed ZAP request\" frames=%d", n);
                return;
        }
        zap_copy(domain, sizeof(domain), &f[2]);
        zap_copy(address, sizeof(address), &f[3]);
        zap_copy(mechanism, sizeof(mechanism), &f[5]);
        if (strcmp(mechanism, "CURVE") != 0 || n < 7 || zmq_msg_size(&f[6]) != 32) {
                z->refused++;
                log_warn("zap", "domain=%s peer=%s mechanism=%s msg=\"refused: only CURVE is accepted\"",
                         log_escape(esc, sizeof(esc), domain), address, mechanism);
                zap_reply(z, &f[0], &f[1], "400", "CURVE only", "");
                return;
        }
        zmq_z85_encode(key, zmq_msg_data(&f[6]), 32);
        r = z->lookup(z->arg, domain, key, user, sizeof(user));
        if (r < 0) {
                z->refused++;
                if (strcmp(domain, "downlink") == 0)
                        z->refused_downlink++;
                else if (strcmp(domain, "control") == 0)
                        z->refused_control++;
                log_warn("zap", "domain=%s peer=%s key=\"%s\" msg=\"refused: key not enrolled\"",
                         log_escape(esc, sizeof(esc), domain), address, key);
                zap_reply(z, &f[0], &f[1], "400", "not enrolled", "");
                return;
        }
        z->admitted++;
        log_debug("zap", "domain=%s peer=%s user=\"%s\" msg=\"admitted\"", domain, address, user);
        zap_reply(z, &f[0], &f[1], "200", "OK", user);
}

static void zap_on_recv(struct zsock *zs, zmq_msg_t *frames, int n)
{
        zap_handle(zs->data, frames, n);
}

int zap_init(struct zap *z, void *ctx, uv_loop_t *loop, zap_lookup_fn lookup, void *arg)
{
        void *sock;
        int r;

        memset(z, 0, sizeof(*z));
        z->lookup = lookup;
        z->arg = arg;
        sock = zmq_socket(ctx, ZMQ_REP);
        if (!sock)
                return -errno;
        if (zmq_bind(sock, "inproc://zeromq.zap.01") < 0) {
                r = -errno;
                zmq_close(sock);
                return r;
        }
        r = zsock_init(&z->zs, loop, sock, zap_on_recv, z);
        if (r < 0)
                return r;
        return 0;
}

void zap_close(struct zap *z)
{
        zsock_close(&z->zs, NULL);
}
