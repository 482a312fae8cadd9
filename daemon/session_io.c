/*
 * Session connection handling: SO_PEERCRED, reading into the frame reader, decoding and
 * validating frames, buffering output and writing it, closing. What a message means is
 * session.c's business; this file only moves bytes and enforces the framing and size rules.
 *
 * Output: replies and grants are appended to the session's frame_buf during callbacks; the
 * daemon's prepare pass calls session_flush() once per loop iteration, so a burst of messages
 * costs one write. uv_try_write goes first; what the kernel does not take is handed to uv_write
 * in a request that takes over the buffer (freed in the write callback).
 */
#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "nodus.h"
#include "trace.h"
#include "validate.h"

/* A peer whose unsent output passes this is not reading: drop it. */
#define SESSION_MAX_PENDING_OUT (64u * 1024u * 1024u)
/* Read buffer space requested from the frame reader per read. */
#define SESSION_READ_CHUNK (64u * 1024u)

typedef struct session_write {
    uv_write_t req;
    session_t *s;
    uint8_t *data; /* owned: the frame_buf storage taken over */
    size_t len;    /* bytes handed to uv_write */
} session_write_t;

static session_t *session_create(daemon_t *d)
{
    session_t *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    if (uv_pipe_init(d->loop, &s->pipe, 0) < 0) {
        free(s);
        return NULL;
    }
    s->d = d;
    d->live_sessions++;
    s->pipe.data = s;
    s->id = d->next_session_id++;
    s->state = SESSION_AWAIT_HELLO;
    /* limits.max_message_bytes at the time of the connection (a reload changes later ones) */
    frame_reader_init(&s->reader,
                      d->cfg.max_message_bytes ? d->cfg.max_message_bytes : NODUS_MAX_FRAME);
    frame_buf_init(&s->out);
    taskmap_init(&s->tasks);
    return s;
}

static void session_free(session_t *s)
{
    s->d->live_sessions--;
    frame_reader_free(&s->reader);
    frame_buf_free(&s->out);
    session_free_work(s);
    free(s);
}

static void on_close(uv_handle_t *h)
{
    session_t *s = h->data;
    daemon_t *d = s->d;
    if (s->prev)
        s->prev->next = s->next;
    else if (d->sessions == s)
        d->sessions = s->next;
    if (s->next) s->next->prev = s->prev;
    session_free(s);
}

static void close_handle(session_t *s)
{
    s->handle_closing = 1;
    if (!uv_is_closing((uv_handle_t *)&s->pipe)) uv_close((uv_handle_t *)&s->pipe, on_close);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    session_t *s = h->data;
    uint8_t *space;
    size_t avail;
    (void)suggested;
    if (frame_reader_space(&s->reader, SESSION_READ_CHUNK, &space, &avail) < 0) {
        *buf = uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS */
        return;
    }
    *buf = uv_buf_init((char *)space, (unsigned)(avail > UINT32_MAX ? UINT32_MAX : avail));
}

/* The frame header at the reader's head is refused: too long for the limit, or zero. */
static void fail_frame(session_t *s)
{
    const frame_reader_t *r = &s->reader;
    uint32_t n = 0;
    for (int i = 3; i >= 0; i--)
        n = (n << 8) | r->buf[r->start + (size_t)i]; /* at least a header is there */
    if (n > r->max_frame) {
        char why[128];
        snprintf(why, sizeof why, "frame of %u bytes exceeds limits.max_message_bytes (%zu)", n,
                 r->max_frame);
        s->d->counters.frames_refused++;
        session_fail(s, NODUS_ELIMIT, why);
        return;
    }
    session_fail(s, NODUS_EPROTO, "bad frame length");
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    session_t *s = st->data;
    daemon_t *d = s->d;
    (void)buf;
    if (s->state == SESSION_CLOSED) return;
    if (nread < 0) {
        /* a client gone without Bye while its tasks ran: crashed or killed (session_lost.c) */
        if (s->state == SESSION_CLIENT && nread != UV_ENOBUFS)
            session_log_lost(s, nread == UV_EOF ? "end of stream" : uv_strerror((int)nread));
        if (nread == UV_EOF)
            session_close(s, "end of stream", 0);
        else if (nread == UV_ENOBUFS)
            session_close(s, "out of memory for input", 0);
        else
            session_close(s, uv_strerror((int)nread), 0); /* static strings */
        return;
    }
    if (nread == 0) return;
    frame_reader_commit(&s->reader, (size_t)nread);
    d->counters.bytes_in += (uint64_t)nread;
    d->now_ns = uv_hrtime();

    while (s->state != SESSION_CLOSED) {
        const uint8_t *payload;
        size_t len;
        int rc = frame_reader_next(&s->reader, &payload, &len);
        if (rc == 0) break;
        if (rc < 0) {
            fail_frame(s);
            break;
        }
        d->counters.messages_in++;
        Nodus__V1__Msg *m = frame_decode(payload, len);
        if (!m) {
            session_fail(s, NODUS_EPROTO, "undecodable message");
            break;
        }
        const char *why = NULL;
        if (msg_validate(m, (unsigned)d->ncores, &why) < 0) {
            session_fail(s, NODUS_EPROTO, why ? why : "invalid message");
        } else if (session_handle_msg(s, m, NODUS_FRAME_HEADER + len)) {
            continue; /* held back by the task limit: the session frees it */
        }
        nodus__v1__msg__free_unpacked(m, NULL);
    }
}

int session_read_start(session_t *s)
{
    return uv_read_start((uv_stream_t *)&s->pipe, on_alloc, on_read);
}

/* Reads SO_PEERCRED, links the session into the daemon and starts reading. */
static void session_start(session_t *s)
{
    daemon_t *d = s->d;
    struct ucred cred;
    socklen_t clen = sizeof cred;
    uv_os_fd_t fd;

    /* linked first so that every later path, close included, sees one consistent list */
    s->next = d->sessions;
    if (d->sessions) d->sessions->prev = s;
    d->sessions = s;
    s->open_ns = uv_hrtime();
    d->counters.sessions_total++;
    daemon_session_opened(d);

    if (uv_fileno((uv_handle_t *)&s->pipe, &fd) < 0 ||
        getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0) {
        LOG(LOG_WARNING, "session", s->id, "cannot read peer credentials; closing");
        session_close(s, "no peer credentials", 0);
        return;
    }
    s->uid = cred.uid;
    s->gid = cred.gid;
    s->pid = (uint32_t)cred.pid;
    LOG(LOG_DEBUG, "session", s->id, "accepted uid=%u pid=%u", s->uid, s->pid);
    int rc = session_read_start(s);
    if (rc < 0) {
        LOG(LOG_WARNING, "session", s->id, "cannot read: %s", uv_strerror(rc));
        session_close(s, "read start failed", 0);
    }
}

static void on_close_unlinked(uv_handle_t *h)
{
    session_free(h->data);
}

int session_accept(daemon_t *d, uv_stream_t *listener)
{
    session_t *s = session_create(d);
    if (!s) {
        LOG(LOG_ERR, "server", 0, "out of memory for a new connection");
        return NODUS_ENOMEM;
    }
    int rc = uv_accept(listener, (uv_stream_t *)&s->pipe);
    if (rc < 0) {
        LOG(LOG_WARNING, "server", 0, "accept failed: %s", uv_strerror(rc));
        uv_close((uv_handle_t *)&s->pipe, on_close_unlinked);
        return NODUS_EIO;
    }
    session_start(s);
    return 0;
}

int session_adopt_fd(daemon_t *d, int fd)
{
    session_t *s = session_create(d);
    if (!s) return NODUS_ENOMEM;
    int rc = uv_pipe_open(&s->pipe, fd);
    if (rc < 0) {
        LOG(LOG_WARNING, "server", 0, "cannot adopt fd %d: %s", fd, uv_strerror(rc));
        uv_close((uv_handle_t *)&s->pipe, on_close_unlinked);
        return NODUS_EIO;
    }
    session_start(s);
    return 0;
}

int session_send(session_t *s, const Nodus__V1__Msg *m)
{
    if (s->state == SESSION_CLOSED && s->handle_closing) return NODUS_ECLOSED;
    int rc = frame_buf_append(&s->out, m, NODUS_MAX_FRAME);
    if (rc < 0) {
        LOG(LOG_ERR, "session", s->id, "cannot encode %s: %s", msg_body_name(m),
            nodus_strerror(rc));
        return rc;
    }
    s->d->counters.messages_out++;
    return 0;
}

void session_send_error(session_t *s, int code, const char *text)
{
    char msg[NODUS_MAX_ERROR_TEXT + 1];
    snprintf(msg, sizeof msg, "%s", text ? text : nodus_strerror(code));
    Nodus__V1__Error e = NODUS__V1__ERROR__INIT;
    e.code = code;
    e.message = msg;
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_ERROR;
    m.error = &e;
    (void)session_send(s, &m);
}

static void on_write(uv_write_t *req, int status)
{
    session_write_t *w = (session_write_t *)req;
    session_t *s = w->s;
    s->out_inflight -= w->len;
    if (status == 0) s->d->counters.bytes_out += w->len;
    free(w->data);
    free(w);
    if (status < 0 && status != UV_ECANCELED && s->state != SESSION_CLOSED) {
        LOG(LOG_NOTICE, "session", s->id, "write failed: %s", uv_strerror(status));
        session_close(s, "write error", 0);
    }
}

int session_flush(session_t *s)
{
    if (s->out.len == 0 || s->handle_closing) return 0;
    uv_stream_t *st = (uv_stream_t *)&s->pipe;
    size_t written = 0;
    if (s->out_inflight == 0) {
        uv_buf_t b = uv_buf_init((char *)s->out.data, (unsigned)s->out.len);
        int rc = uv_try_write(st, &b, 1);
        if (rc >= 0) {
            written = (size_t)rc;
        } else if (rc != UV_EAGAIN) {
            if (s->state != SESSION_CLOSED)
                LOG(LOG_NOTICE, "session", s->id, "write failed: %s", uv_strerror(rc));
            session_close(s, "write error", 0);
            return NODUS_EIO;
        }
    }
    s->d->counters.bytes_out += written;
    if (written == s->out.len) {
        s->out.len = 0;
        return 0;
    }
    size_t rest = s->out.len - written;
    if (s->out_inflight + rest > SESSION_MAX_PENDING_OUT) {
        if (s->state != SESSION_CLOSED)
            LOG(LOG_WARNING, "session", s->id,
                "peer uid=%u pid=%u does not read its output (%zu bytes pending); dropping", s->uid,
                s->pid, s->out_inflight + rest);
        s->d->counters.sessions_dropped += s->state != SESSION_CLOSED;
        session_close(s, "unresponsive peer", 0);
        return NODUS_ELIMIT;
    }
    session_write_t *w = malloc(sizeof *w);
    if (!w) {
        session_close(s, "out of memory for output", 0);
        return NODUS_ENOMEM;
    }
    /* the request takes the buffer over; the session starts a fresh one */
    w->s = s;
    w->data = s->out.data;
    w->len = rest;
    uv_buf_t b = uv_buf_init((char *)w->data + written, (unsigned)rest);
    frame_buf_init(&s->out);
    int rc = uv_write(&w->req, st, &b, 1, on_write);
    if (rc < 0) {
        free(w->data);
        free(w);
        session_close(s, "write error", 0);
        return NODUS_EIO;
    }
    s->out_inflight += rest;
    return 0;
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    session_t *s = req->data;
    (void)status;
    if (!uv_is_closing((uv_handle_t *)&s->pipe)) uv_close((uv_handle_t *)&s->pipe, on_close);
}

void session_close(session_t *s, const char *reason, int graceful)
{
    daemon_t *d = s->d;
    if (s->state != SESSION_CLOSED) {
        session_state_t was = s->state;
        s->state = SESSION_CLOSED;
        uv_read_stop((uv_stream_t *)&s->pipe);
        uint64_t now = uv_hrtime();
        uint64_t core_ns = s->client ? sched_client_core_ns(s->client, now) : 0;
        session_release_work(s);
        if (was == SESSION_AWAIT_HELLO)
            LOG(LOG_DEBUG, "session", s->id, "closed before hello (uid=%u pid=%u): %s", s->uid,
                s->pid, reason);
        else
            LOG(LOG_INFO, "session", s->id,
                "closed (uid=%u pid=%u job=%s role=%s): %s; %llu tasks done, %.3f core-s", s->uid,
                s->pid, s->job, session_role_name(s->role), reason, (unsigned long long)s->done,
                (double)core_ns / 1e9);
        if (d->trace) trace_flush(d->trace);
        daemon_session_closed(d, was == SESSION_CLIENT);
        daemon_mark_dirty(d);
    }
    if (s->handle_closing) return;
    if (graceful) {
        session_flush(s);
        if (s->handle_closing) return;
        if (s->out_inflight > 0) {
            /* the shutdown completes after the queued writes; a peer that exits ends it */
            s->handle_closing = 1;
            s->shutdown_req.data = s;
            if (uv_shutdown(&s->shutdown_req, (uv_stream_t *)&s->pipe, on_shutdown) == 0) return;
            s->handle_closing = 0;
        }
    }
    close_handle(s);
}

void session_fail(session_t *s, int code, const char *why)
{
    if (s->state == SESSION_CLOSED) return;
    LOG(LOG_WARNING, "session", s->id, "dropping peer uid=%u pid=%u: %s", s->uid, s->pid, why);
    s->d->counters.sessions_dropped++;
    session_send_error(s, code, why);
    session_close(s, why, 1);
}

void session_abort(session_t *s, const char *reason)
{
    session_close(s, reason, 0);
    close_handle(s); /* also cuts a graceful close still waiting for its writes */
}
