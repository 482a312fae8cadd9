/*
 * Administrative requests. A CtlReply is the daemon's answer to a request, not a protocol
 * error: the connection stays usable after a refusal.
 */
#include "ctl_admin.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "json_out.h"
#include "nodus.h"
#include "nodus_limits.h"
#include "validate.h"

/* Prints the outcome of a request: `what` done (message) or failed. */
static void print_outcome(int json, FILE *out, int code, const char *message)
{
    if (json) {
        json_out_t j;
        json_init(&j, out);
        json_object_begin(&j, NULL);
        json_bool(&j, "ok", code == 0);
        json_i64(&j, "code", code);
        json_str(&j, "error", code ? nodus_strerror(code) : "");
        json_str(&j, "message", message);
        json_object_end(&j);
    } else if (code == 0) {
        fprintf(out, "%s\n", message);
    }
}

/* Sends req and waits for its CtlReply; the reply's code (0 or negative), err set on failure. */
static int request(ctl_conn_t *c, const Nodus__V1__Msg *req, int json, FILE *out, char *err,
                   size_t errlen)
{
    Nodus__V1__Msg *reply;
    int rc = ctl_conn_request(c, req, NODUS__V1__MSG__BODY_CTL_REPLY, &reply, err, errlen);
    if (rc < 0) return rc;
    const Nodus__V1__CtlReply *r = reply->ctl_reply;
    const char *msg = r->message ? r->message : "";
    rc = r->code;
    print_outcome(json, out, rc, msg);
    if (rc < 0)
        snprintf(err, errlen, "nodusd: %s (%s)", msg[0] ? msg : nodus_strerror(rc),
                 nodus_strerror(rc));
    nodus__v1__msg__free_unpacked(reply, NULL);
    return rc;
}

int ctl_drain(ctl_conn_t *c, int json, FILE *out, char *err, size_t errlen)
{
    Nodus__V1__DrainRequest dr = NODUS__V1__DRAIN_REQUEST__INIT;
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_DRAIN_REQUEST;
    m.drain_request = &dr;
    return request(c, &m, json, out, err, errlen);
}

int ctl_kill(ctl_conn_t *c, uint64_t session_id, int json, FILE *out, char *err, size_t errlen)
{
    Nodus__V1__KillRequest k = NODUS__V1__KILL_REQUEST__INIT;
    k.session_id = session_id;
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_KILL_REQUEST;
    m.kill_request = &k;
    return request(c, &m, json, out, err, errlen);
}

int ctl_trace_start(ctl_conn_t *c, uint32_t capacity, int json, FILE *out, char *err, size_t errlen)
{
    Nodus__V1__TraceStart ts = NODUS__V1__TRACE_START__INIT;
    ts.capacity_events = capacity;
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_TRACE_START;
    m.trace_start = &ts;
    return request(c, &m, json, out, err, errlen);
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Receives the trace into fd: 0 after the last chunk, or the daemon's code / an error. */
static int receive_trace(ctl_conn_t *c, int fd, const char *path, int json, FILE *out,
                         uint64_t *bytes, uint64_t *chunks, char *err, size_t errlen)
{
    for (;;) {
        Nodus__V1__Msg *m;
        int rc = ctl_conn_recv(c, &m, err, errlen);
        if (rc < 0) return rc;
        switch (m->body_case) {
        case NODUS__V1__MSG__BODY_TRACE_CHUNK: {
            const Nodus__V1__TraceChunk *ch = m->trace_chunk;
            int last = ch->last;
            if (write_all(fd, ch->data.data, ch->data.len) < 0) {
                snprintf(err, errlen, "%s: %s", path, strerror(errno));
                rc = NODUS_EIO;
            }
            *bytes += ch->data.len;
            (*chunks)++;
            nodus__v1__msg__free_unpacked(m, NULL);
            if (rc < 0 || last) return rc;
            continue;
        }
        case NODUS__V1__MSG__BODY_CTL_REPLY: {
            /* no trace: the daemon says why */
            const char *msg = m->ctl_reply->message ? m->ctl_reply->message : "";
            rc = m->ctl_reply->code < 0 ? m->ctl_reply->code : NODUS_EPROTO;
            print_outcome(json, out, rc, msg);
            snprintf(err, errlen, "nodusd: %s (%s)", msg[0] ? msg : nodus_strerror(rc),
                     nodus_strerror(rc));
            break;
        }
        case NODUS__V1__MSG__BODY_ERROR:
            rc = ctl_conn_error(m, err, errlen);
            break;
        default:
            snprintf(err, errlen, "%s: unexpected %s from nodusd", c->path, msg_body_name(m));
            rc = NODUS_EPROTO;
            break;
        }
        nodus__v1__msg__free_unpacked(m, NULL);
        return rc;
    }
}

int ctl_trace_stop(ctl_conn_t *c, const char *path, int json, FILE *out, char *err, size_t errlen)
{
    int to_stdout = strcmp(path, "-") == 0;
    int fd = to_stdout ? STDOUT_FILENO : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NODUS_EIO;
    }
    Nodus__V1__TraceStop ts = NODUS__V1__TRACE_STOP__INIT;
    Nodus__V1__Msg req = NODUS__V1__MSG__INIT;
    req.body_case = NODUS__V1__MSG__BODY_TRACE_STOP;
    req.trace_stop = &ts;
    uint64_t bytes = 0, chunks = 0;
    int rc = ctl_conn_send(c, &req, err, errlen);
    if (rc == 0)
        rc = receive_trace(c, fd, path, json, to_stdout ? stderr : out, &bytes, &chunks, err,
                           errlen);
    if (!to_stdout && close(fd) < 0 && rc == 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        rc = NODUS_EIO;
    }
    if (rc < 0 && !to_stdout) unlink(path); /* no half-written trace left behind */
    if (rc < 0 || to_stdout) return rc;
    char msg[512];
    snprintf(msg, sizeof msg, "trace written to %s (%" PRIu64 " bytes); open it in ui.perfetto.dev",
             path, bytes);
    if (json) {
        json_out_t j;
        json_init(&j, out);
        json_object_begin(&j, NULL);
        json_bool(&j, "ok", 1);
        json_i64(&j, "code", 0);
        json_str(&j, "error", "");
        json_str(&j, "message", msg);
        json_str(&j, "file", path);
        json_u64(&j, "bytes", bytes);
        json_u64(&j, "chunks", chunks);
        json_object_end(&j);
    } else {
        fprintf(out, "%s\n", msg);
    }
    return 0;
}
