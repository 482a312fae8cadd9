/*
 * Blocking framed I/O for nodusctl. The daemon side is non-blocking libuv; here one request is
 * in flight at a time, so plain send()/read() with socket timeouts is all that is needed.
 */
#include "ctl_conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "nodus.h"
#include "nodus_limits.h"
#include "validate.h"

#define CTL_SYSTEM_SOCKET "/run/nodus/nodusd.sock"
#define CTL_READ_CHUNK    65536

static int copy_path(char *buf, size_t len, const char *path)
{
    int n = snprintf(buf, len, "%s", path);
    if (n < 0 || (size_t)n >= len || (size_t)n >= sizeof(((struct sockaddr_un *)0)->sun_path))
        return NODUS_ELIMIT;
    return 0;
}

int ctl_socket_path(const char *explicit_path, char *buf, size_t len)
{
    char tmp[512];
    const char *env;
    struct stat st;

    if (explicit_path) return copy_path(buf, len, explicit_path);
    if ((env = getenv("NODUS_SOCKET")) && env[0]) return copy_path(buf, len, env);
    if (stat(CTL_SYSTEM_SOCKET, &st) == 0) return copy_path(buf, len, CTL_SYSTEM_SOCKET);
    if ((env = getenv("XDG_RUNTIME_DIR")) && env[0])
        snprintf(tmp, sizeof tmp, "%s/nodus/nodusd.sock", env);
    else
        snprintf(tmp, sizeof tmp, "/tmp/nodus-%u/nodusd.sock", (unsigned)getuid());
    return copy_path(buf, len, tmp);
}

int ctl_conn_send(ctl_conn_t *c, const Nodus__V1__Msg *m, char *err, size_t errlen)
{
    frame_buf_t out;
    frame_buf_init(&out);
    int rc = frame_buf_append(&out, m, NODUS_MAX_FRAME);
    if (rc < 0) {
        snprintf(err, errlen, "cannot encode %s: %s", msg_body_name(m), nodus_strerror(rc));
        frame_buf_free(&out);
        return rc;
    }
    size_t off = 0;
    while (off < out.len) {
        ssize_t w = send(c->fd, out.data + off, out.len - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
            rc = (errno == EAGAIN || errno == EWOULDBLOCK) ? NODUS_ETIMEDOUT : NODUS_ECLOSED;
            snprintf(err, errlen, "%s: cannot send %s: %s", c->path, msg_body_name(m),
                     rc == NODUS_ETIMEDOUT ? "timed out" : strerror(errno));
            break;
        }
        off += (size_t)w;
    }
    frame_buf_free(&out);
    return rc;
}

int ctl_conn_recv(ctl_conn_t *c, Nodus__V1__Msg **out, char *err, size_t errlen)
{
    const uint8_t *payload;
    size_t len;
    for (;;) {
        int rc = frame_reader_next(&c->reader, &payload, &len);
        if (rc < 0) {
            snprintf(err, errlen, "%s: bad frame from nodusd", c->path);
            return rc;
        }
        if (rc == 1) break;
        uint8_t *space;
        size_t avail;
        if ((rc = frame_reader_space(&c->reader, CTL_READ_CHUNK, &space, &avail)) < 0) {
            snprintf(err, errlen, "out of memory");
            return rc;
        }
        ssize_t n = read(c->fd, space, avail);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            snprintf(err, errlen, "%s: nodusd did not answer within %d s", c->path,
                     CTL_IO_TIMEOUT_S);
            return NODUS_ETIMEDOUT;
        }
        if (n <= 0) {
            snprintf(err, errlen, "%s: nodusd closed the connection%s%s", c->path,
                     n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
            return NODUS_ECLOSED;
        }
        frame_reader_commit(&c->reader, (size_t)n);
    }

    Nodus__V1__Msg *m = frame_decode(payload, len);
    const char *why = NULL;
    if (!m || msg_validate(m, 0, &why) < 0) {
        snprintf(err, errlen, "%s: invalid message from nodusd: %s", c->path,
                 why ? why : "undecodable");
        if (m) nodus__v1__msg__free_unpacked(m, NULL);
        return NODUS_EPROTO;
    }
    *out = m;
    return 0;
}

int ctl_conn_error(const Nodus__V1__Msg *m, char *err, size_t errlen)
{
    int code = m->error->code < 0 ? m->error->code : NODUS_EPROTO;
    const char *text = m->error->message && m->error->message[0] ? m->error->message : NULL;
    snprintf(err, errlen, "nodusd: %s%s%s%s", text ? text : nodus_strerror(code), text ? " (" : "",
             text ? nodus_strerror(code) : "", text ? ")" : "");
    return code;
}

int ctl_conn_request(ctl_conn_t *c, const Nodus__V1__Msg *req, Nodus__V1__Msg__BodyCase want,
                     Nodus__V1__Msg **reply, char *err, size_t errlen)
{
    int rc;
    *reply = NULL;
    if (req && (rc = ctl_conn_send(c, req, err, errlen)) < 0) return rc;
    Nodus__V1__Msg *m;
    if ((rc = ctl_conn_recv(c, &m, err, errlen)) < 0) return rc;
    if (m->body_case == want) {
        *reply = m;
        return 0;
    }
    if (m->body_case == NODUS__V1__MSG__BODY_ERROR)
        rc = ctl_conn_error(m, err, errlen);
    else {
        snprintf(err, errlen, "%s: unexpected %s from nodusd", c->path, msg_body_name(m));
        rc = NODUS_EPROTO;
    }
    nodus__v1__msg__free_unpacked(m, NULL);
    return rc;
}

int ctl_conn_open(ctl_conn_t *c, const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memset(c, 0, sizeof *c);
    c->fd = -1;
    if (copy_path(c->path, sizeof c->path, path) < 0 ||
        copy_path(sa.sun_path, sizeof sa.sun_path, path) < 0) {
        snprintf(err, errlen, "socket path too long: %s", path);
        return NODUS_ELIMIT;
    }
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return NODUS_ECONNECT;
    }
    struct timeval tv = {.tv_sec = CTL_IO_TIMEOUT_S};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        snprintf(err, errlen, "cannot connect to nodusd at %s: %s", path, strerror(errno));
        close(c->fd);
        c->fd = -1;
        return NODUS_ECONNECT;
    }
    frame_reader_init(&c->reader, NODUS_MAX_FRAME);

    Nodus__V1__Hello hello = NODUS__V1__HELLO__INIT;
    hello.min_version = NODUS_PROTO_VERSION_MIN;
    hello.max_version = NODUS_PROTO_VERSION_MAX;
    hello.role = NODUS__V1__ROLE__ROLE_CTL;
    hello.client_name = "nodusctl";
    Nodus__V1__Msg req = NODUS__V1__MSG__INIT;
    req.body_case = NODUS__V1__MSG__BODY_HELLO;
    req.hello = &hello;
    Nodus__V1__Msg *welcome;
    int rc = ctl_conn_request(c, &req, NODUS__V1__MSG__BODY_WELCOME, &welcome, err, errlen);
    if (rc < 0) {
        frame_reader_free(&c->reader);
        close(c->fd);
        c->fd = -1;
        return rc;
    }
    c->version = welcome->welcome->version;
    c->session_id = welcome->welcome->session_id;
    nodus__v1__msg__free_unpacked(welcome, NULL);
    return 0;
}

void ctl_conn_close(ctl_conn_t *c)
{
    if (c->fd < 0) return;
    char err[64];
    Nodus__V1__Bye bye = NODUS__V1__BYE__INIT;
    Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
    m.body_case = NODUS__V1__MSG__BODY_BYE;
    m.bye = &bye;
    ctl_conn_send(c, &m, err, sizeof err);
    close(c->fd);
    c->fd = -1;
    frame_reader_free(&c->reader);
}
