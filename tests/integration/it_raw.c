/*
 * it_raw: speaks the wire protocol directly to check that nodusd drops a peer that breaks it,
 * answering with an Error first where it can.
 *
 *   it_raw SOCKET CASE [ID]   exit 0 when the daemon behaved as required for CASE
 * CASE: submit-before-hello | bad-version | oversized-frame | zero-frame | garbage |
 *       second-hello | done-unknown | non-sequential-id | ctl-submit | ok (a correct session) |
 *       hello-refused (a client Hello answered with an Error, then dropped) |
 *       done-foreign ID (Done for task ID, one another session runs: this session never had it)
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "frame.h"
#include "nodus.h"
#include "nodus_limits.h"

static int fd = -1;

static int send_all(const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static int send_msg(const Nodus__V1__Msg *m)
{
    frame_buf_t b;
    frame_buf_init(&b);
    int rc = frame_buf_append(&b, m, NODUS_MAX_FRAME);
    if (rc == 0) rc = send_all(b.data, b.len);
    frame_buf_free(&b);
    return rc;
}

/* Reads the next message; NULL on EOF/error (sets *eof) or after 5 s. */
static Nodus__V1__Msg *recv_msg(frame_reader_t *r, int *eof)
{
    *eof = 0;
    for (;;) {
        const uint8_t *payload;
        size_t len;
        int k = frame_reader_next(r, &payload, &len);
        if (k == 1) return frame_decode(payload, len);
        if (k < 0) return NULL;
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 5000) <= 0) return NULL;
        uint8_t *space;
        size_t avail;
        if (frame_reader_space(r, 65536, &space, &avail) < 0) return NULL;
        ssize_t got = recv(fd, space, avail, 0);
        if (got <= 0) {
            *eof = 1;
            return NULL;
        }
        frame_reader_commit(r, (size_t)got);
    }
}

static void hello(Nodus__V1__Msg *m, Nodus__V1__Hello *h, uint32_t lo, uint32_t hi,
                  Nodus__V1__Role role)
{
    nodus__v1__msg__init(m);
    nodus__v1__hello__init(h);
    h->min_version = lo;
    h->max_version = hi;
    h->role = role;
    h->job_name = "it_raw";
    m->body_case = NODUS__V1__MSG__BODY_HELLO;
    m->hello = h;
}

/* One task with id `id` and one INOUT access. */
static int send_submit(uint64_t id)
{
    Nodus__V1__Msg m;
    Nodus__V1__Submit s;
    Nodus__V1__TaskSpec t, *tp = &t;
    Nodus__V1__Access a, *ap = &a;
    nodus__v1__msg__init(&m);
    nodus__v1__submit__init(&s);
    nodus__v1__task_spec__init(&t);
    nodus__v1__access__init(&a);
    a.addr = 4096;
    a.len = 64;
    a.mode = NODUS__V1__ACCESS_MODE__ACCESS_MODE_INOUT;
    t.id = id;
    t.n_accesses = 1;
    t.accesses = &ap;
    s.n_tasks = 1;
    s.tasks = &tp;
    m.body_case = NODUS__V1__MSG__BODY_SUBMIT;
    m.submit = &s;
    return send_msg(&m);
}

/* Expects: optionally an Error, then EOF. */
static int expect_dropped(frame_reader_t *r, const char *what)
{
    int eof, saw_error = 0;
    for (;;) {
        Nodus__V1__Msg *m = recv_msg(r, &eof);
        if (!m) {
            if (eof) {
                printf("%s: dropped%s\n", what, saw_error ? " after an Error" : "");
                return 0;
            }
            fprintf(stderr, "%s: connection not closed by the daemon\n", what);
            return 1;
        }
        if (m->body_case == NODUS__V1__MSG__BODY_ERROR) {
            saw_error = 1;
            printf("%s: error %d (%s)\n", what, m->error->code, m->error->message);
        }
        nodus__v1__msg__free_unpacked(m, NULL);
    }
}

static int expect_welcome(frame_reader_t *r)
{
    int eof;
    Nodus__V1__Msg *m = recv_msg(r, &eof);
    int ok = m && m->body_case == NODUS__V1__MSG__BODY_WELCOME;
    if (m) nodus__v1__msg__free_unpacked(m, NULL);
    if (!ok) fprintf(stderr, "expected a Welcome\n");
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: it_raw SOCKET CASE [ID]\n");
        return 2;
    }
    const char *c = argv[2];
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", argv[1]);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        perror("connect");
        return 1;
    }
    frame_reader_t r;
    frame_reader_init(&r, NODUS_MAX_FRAME);
    Nodus__V1__Msg m;
    Nodus__V1__Hello h;
    int rc = 1;

    if (!strcmp(c, "submit-before-hello")) {
        send_submit(1);
        rc = expect_dropped(&r, c);
    } else if (!strcmp(c, "bad-version")) {
        hello(&m, &h, 7, 9, NODUS__V1__ROLE__ROLE_CLIENT);
        send_msg(&m);
        rc = expect_dropped(&r, c);
    } else if (!strcmp(c, "oversized-frame")) {
        uint8_t hdr[4] = {0xff, 0xff, 0xff, 0x7f};
        send_all(hdr, 4);
        rc = expect_dropped(&r, c);
    } else if (!strcmp(c, "zero-frame")) {
        uint8_t hdr[4] = {0, 0, 0, 0};
        send_all(hdr, 4);
        rc = expect_dropped(&r, c);
    } else if (!strcmp(c, "garbage")) {
        uint8_t junk[12] = {8, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
        send_all(junk, sizeof junk);
        rc = expect_dropped(&r, c);
    } else if (!strcmp(c, "second-hello")) {
        hello(&m, &h, 1, 1, NODUS__V1__ROLE__ROLE_CLIENT);
        send_msg(&m);
        if (expect_welcome(&r) == 0) {
            send_msg(&m);
            rc = expect_dropped(&r, c);
        }
    } else if (!strcmp(c, "hello-refused")) {
        hello(&m, &h, 1, 1, NODUS__V1__ROLE__ROLE_CLIENT);
        send_msg(&m);
        rc = expect_dropped(&r, c);
    } else if (!strcmp(c, "done-unknown") || !strcmp(c, "done-foreign")) {
        hello(&m, &h, 1, 1, NODUS__V1__ROLE__ROLE_CLIENT);
        send_msg(&m);
        if (expect_welcome(&r) == 0) {
            Nodus__V1__Msg d;
            Nodus__V1__Done done;
            uint64_t id = argc == 4 ? strtoull(argv[3], NULL, 10) : 42;
            nodus__v1__msg__init(&d);
            nodus__v1__done__init(&done);
            done.n_task_ids = 1;
            done.task_ids = &id;
            d.body_case = NODUS__V1__MSG__BODY_DONE;
            d.done = &done;
            send_msg(&d);
            rc = expect_dropped(&r, c);
        }
    } else if (!strcmp(c, "non-sequential-id")) {
        hello(&m, &h, 1, 1, NODUS__V1__ROLE__ROLE_CLIENT);
        send_msg(&m);
        if (expect_welcome(&r) == 0) {
            send_submit(5);
            rc = expect_dropped(&r, c);
        }
    } else if (!strcmp(c, "ctl-submit")) {
        hello(&m, &h, 1, 1, NODUS__V1__ROLE__ROLE_CTL);
        send_msg(&m);
        if (expect_welcome(&r) == 0) {
            send_submit(1);
            rc = expect_dropped(&r, c);
        }
    } else if (!strcmp(c, "ok")) {
        /* hello, one task, its grant, done, wait-all, wait-done */
        hello(&m, &h, 1, 1, NODUS__V1__ROLE__ROLE_CLIENT);
        send_msg(&m);
        if (expect_welcome(&r) == 0 && send_submit(1) == 0) {
            int eof;
            Nodus__V1__Msg *g = recv_msg(&r, &eof);
            if (g && g->body_case == NODUS__V1__MSG__BODY_GRANTS && g->grants->n_grants == 1 &&
                g->grants->grants[0]->task_id == 1) {
                Nodus__V1__Msg d;
                Nodus__V1__Done done;
                uint64_t id = 1;
                nodus__v1__msg__init(&d);
                nodus__v1__done__init(&done);
                done.n_task_ids = 1;
                done.task_ids = &id;
                d.body_case = NODUS__V1__MSG__BODY_DONE;
                d.done = &done;
                send_msg(&d);
                Nodus__V1__Msg w;
                Nodus__V1__Wait wait;
                nodus__v1__msg__init(&w);
                nodus__v1__wait__init(&wait);
                wait.token = 99;
                w.body_case = NODUS__V1__MSG__BODY_WAIT;
                w.wait = &wait;
                send_msg(&w);
                Nodus__V1__Msg *wd = recv_msg(&r, &eof);
                if (wd && wd->body_case == NODUS__V1__MSG__BODY_WAIT_DONE &&
                    wd->wait_done->token == 99) {
                    printf("ok: hello, grant, done and wait all answered\n");
                    rc = 0;
                }
                if (wd) nodus__v1__msg__free_unpacked(wd, NULL);
            }
            if (g) nodus__v1__msg__free_unpacked(g, NULL);
        }
    } else {
        fprintf(stderr, "unknown case %s\n", c);
        rc = 2;
    }
    frame_reader_free(&r);
    close(fd);
    return rc;
}
