/*
 * The comm thread (see comm.h).
 *
 * Batching comes for free: while the thread is busy writing or dispatching, submissions and done
 * reports pile up and leave in one write. Producers raise `work_hint` (which the thread clears
 * before each collect and watches while it spins) and write the eventfd only when the thread may
 * be asleep: it sets `comm_idle` before its last look for work and its blocking poll(), and a
 * producer reads the flag after a full fence (Dekker-style), so either the thread sees the work
 * or the producer sees the flag and writes the eventfd. A busy or spinning comm thread therefore
 * costs no system call per task on the submitting or finishing side.
 *
 * Every buffer is reused: the submission buffer is double-buffered with the submitters, the
 * protobuf TaskSpec/Access pointer arrays are scratch arrays that only grow, and received
 * messages are unpacked into an arena that is reset after each message.
 */
#include "array.h"
#include "comm.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "done.h"
#include "internal.h"
#include "nodus_limits.h"
#include "reconnect.h"
#include "replay.h"
#include "submit.h"
#include "validate.h"
#include "worker.h"

#define READ_CHUNK       (64u * 1024u)
#define SUBMIT_MSG_BYTES (1024u * 1024u)       /* target size of one Submit message */
#define OUT_BACKLOG_MAX  (16u * 1024u * 1024u) /* stop packing while this much is unsent */
#define ARENA_BLOCK      (64u * 1024u)
#define ARENA_KEEP_MAX   (4u * 1024u * 1024u)

/* Bump allocator for unpacking received messages; reset after each one. */
typedef struct arena_block {
    struct arena_block *next;
    size_t size, used;
    alignas(max_align_t) unsigned char data[];
} arena_block_t;

typedef struct wait_msg {
    uint64_t token, addr, len;
} wait_msg_t;

struct comm {
    frame_reader_t reader;
    frame_buf_t out; /* frames not yet written, from out_off */
    size_t out_off;
    uint64_t packed_upto;    /* last task id packed into out */
    uint64_t flushed_upto;   /* last task id fully written */
    uint64_t published_upto; /* last flushed_upto told to nodus_flush() callers */
    bool bye_queued;
    bool lost;         /* end of stream or a failed read, no Error or Bye before: a crash */
    bool write_failed; /* a send failed: the peer is gone, and its last words may be unread */

    /* taken from the session under its locks, packed outside them */
    submit_buf_t sending;
    done_batch_t done; /* completion reports (done.c) */
    wait_msg_t *waits;
    size_t nwaits, waits_cap;

    /* packing scratch */
    Nodus__V1__TaskSpec *specs;
    Nodus__V1__TaskSpec **spec_ptrs;
    size_t specs_cap;
    Nodus__V1__Access **access_ptrs;
    size_t access_ptrs_cap;

    /* dispatch scratch */
    grant_item_t *items;
    size_t *item_worker;
    size_t items_cap;

    arena_block_t *arena;
    ProtobufCAllocator allocator;
};

/* ---- arena ---- */

static void *arena_alloc(void *data, size_t size)
{
    struct comm *c = data;
    size = (size + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
    arena_block_t *b = c->arena;
    if (!b || b->size - b->used < size) {
        size_t bsize = size > ARENA_BLOCK ? size : ARENA_BLOCK;
        arena_block_t *nb = malloc(sizeof *nb + bsize);
        if (!nb) return NULL;
        nb->next = b;
        nb->size = bsize;
        nb->used = 0;
        c->arena = b = nb;
    }
    void *p = b->data + b->used;
    b->used += size;
    return p;
}

static void arena_free(void *data, void *ptr)
{
    (void)data;
    (void)ptr; /* everything goes at the next reset */
}

/* Empties the arena; if the last message needed several blocks, keeps one block that fits. */
static void arena_reset(struct comm *c)
{
    arena_block_t *b = c->arena;
    if (!b) return;
    if (!b->next) {
        b->used = 0;
        return;
    }
    size_t total = 0;
    while (b) {
        arena_block_t *next = b->next;
        total += b->size;
        free(b);
        b = next;
    }
    if (total > ARENA_KEEP_MAX) total = ARENA_BLOCK; /* a rare huge message: do not hoard */
    c->arena = malloc(sizeof *c->arena + total);
    if (c->arena) {
        c->arena->next = NULL;
        c->arena->size = total;
        c->arena->used = 0;
    }
}

/* ---- growth helpers ---- */

/* ---- wake-ups ---- */

void comm_wake(nodus_t *n)
{
    if (!atomic_load_explicit(&n->work_hint, memory_order_relaxed))
        atomic_store_explicit(&n->work_hint, true, memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&n->comm_idle, memory_order_relaxed) &&
        atomic_exchange(&n->comm_idle, false)) {
        uint64_t one = 1;
        ssize_t w;
        do
            w = write(n->wake_fd, &one, sizeof one);
        while (w < 0 && errno == EINTR);
        /* EAGAIN: the counter is already non-zero, so the thread wakes anyway */
    }
}

/* ---- packing ---- */

static int append_msg(nodus_t *n, struct comm *c, Nodus__V1__Msg *m)
{
    return frame_buf_append(&c->out, m, n->max_frame);
}

static size_t task_size_estimate(const submit_buf_t *b, const pending_task_t *t)
{
    /* TaskSpec framing + id, priority, ncores; ~28 bytes per access; the label */
    size_t label = t->label_off == UINT32_MAX ? 0 : strlen(b->labels + t->label_off) + 2;
    return 40 + (size_t)t->naccesses * 28 + label;
}

static int pack_submits(nodus_t *n, struct comm *c)
{
    submit_buf_t *b = &c->sending;
    if (b->ntasks == 0) return 0;
    void *arr = c->access_ptrs;
    int rc = array_reserve(&arr, &c->access_ptrs_cap, b->naccesses, sizeof *c->access_ptrs);
    c->access_ptrs = arr;
    if (rc < 0) return rc;
    for (size_t i = 0; i < b->naccesses; i++)
        c->access_ptrs[i] = &b->accesses[i];

    size_t per_msg = n->max_tasks_per_submit;
    size_t want = b->ntasks < per_msg ? b->ntasks : per_msg;
    if (want > c->specs_cap) {
        size_t old = c->specs_cap;
        arr = c->specs;
        rc = array_reserve(&arr, &c->specs_cap, want, sizeof *c->specs);
        c->specs = arr;
        if (rc < 0) return rc;
        Nodus__V1__TaskSpec **ptrs = realloc(c->spec_ptrs, c->specs_cap * sizeof *ptrs);
        if (!ptrs) return NODUS_ENOMEM;
        c->spec_ptrs = ptrs;
        for (size_t i = old; i < c->specs_cap; i++)
            nodus__v1__task_spec__init(&c->specs[i]);
        for (size_t i = 0; i < c->specs_cap; i++)
            c->spec_ptrs[i] = &c->specs[i];
    }

    size_t byte_limit = n->max_frame / 2 < SUBMIT_MSG_BYTES ? n->max_frame / 2 : SUBMIT_MSG_BYTES;
    size_t i = 0;
    while (i < b->ntasks) {
        size_t k = 0, bytes = 0;
        while (i + k < b->ntasks && k < per_msg) {
            const pending_task_t *t = &b->tasks[i + k];
            size_t est = task_size_estimate(b, t);
            if (k > 0 && bytes + est > byte_limit) break;
            bytes += est;
            Nodus__V1__TaskSpec *s = &c->specs[k];
            s->id = replay_wire_of(n->replay, t->id);
            s->priority = t->priority;
            s->ncores = t->ncores == 1 ? 0 : t->ncores; /* 0 means 1 on the wire */
            s->n_accesses = t->naccesses;
            s->accesses = t->naccesses ? &c->access_ptrs[t->first_access] : NULL;
            s->label = t->label_off == UINT32_MAX ? (char *)"" : b->labels + t->label_off;
            s->impls = t->impls;
            k++;
        }
        Nodus__V1__Submit submit = NODUS__V1__SUBMIT__INIT;
        submit.n_tasks = k;
        submit.tasks = c->spec_ptrs;
        Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
        m.body_case = NODUS__V1__MSG__BODY_SUBMIT;
        m.submit = &submit;
        rc = append_msg(n, c, &m);
        if (rc < 0) return rc;
        i += k;
    }
    /* resubmitted tasks (after a reconnect) have ids below those packed before */
    if (b->tasks[b->ntasks - 1].id > c->packed_upto) c->packed_upto = b->tasks[b->ntasks - 1].id;
    return replay_keep(n->replay, b); /* kept until its tasks complete; b is empty again */
}

static int pack_waits(nodus_t *n, struct comm *c)
{
    for (size_t i = 0; i < c->nwaits; i++) {
        Nodus__V1__Wait wait = NODUS__V1__WAIT__INIT;
        wait.token = c->waits[i].token;
        wait.addr = c->waits[i].addr;
        wait.len = c->waits[i].len;
        Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
        m.body_case = NODUS__V1__MSG__BODY_WAIT;
        m.wait = &wait;
        int rc = append_msg(n, c, &m);
        if (rc < 0) return rc;
    }
    c->nwaits = 0;
    return 0;
}

/* Takes everything the session queued and packs it into c->out, in protocol order. */
static int collect(nodus_t *n, struct comm *c)
{
    if (c->bye_queued || c->out.len - c->out_off > OUT_BACKLOG_MAX) return 0;
    /* cleared before looking: work queued from now on raises it again */
    atomic_store(&n->work_hint, false);
    uint32_t weight;
    bool closing;
    int rc = 0;

    pthread_mutex_lock(&n->lock);
    /* one critical section for submissions and waits: a Wait follows its earlier Submits */
    submit_buf_t tmp = n->pending;
    n->pending = c->sending;
    c->sending = tmp;
    for (waiter_t *w = n->waiters; w && n->waits_unsent; w = w->next) {
        if (w->sent) continue;
        void *arr = c->waits;
        rc = array_reserve(&arr, &c->waits_cap, c->nwaits + 1, sizeof *c->waits);
        c->waits = arr;
        if (rc < 0) break;
        c->waits[c->nwaits++] = (wait_msg_t){w->token, w->addr, w->len};
        w->sent = true;
        n->waits_unsent--;
    }
    weight = n->weight_to_send;
    n->weight_to_send = 0;
    closing = n->closing;
    if (c->flushed_upto != c->published_upto) {
        c->published_upto = c->flushed_upto;
        n->flushed_upto = c->flushed_upto;
        if (n->flush_waiters) pthread_cond_broadcast(&n->wait_cv);
    }
    pthread_mutex_unlock(&n->lock);
    if (rc < 0) return rc;

    done_batch_take(n, &c->done);

    /* Done before DeviceDone (done.c); waits after everything they may be waiting for */
    if ((rc = pack_submits(n, c)) < 0 || (rc = done_batch_pack(n, &c->done, &c->out)) < 0 ||
        (rc = pack_waits(n, c)) < 0)
        return rc;
    if (weight) {
        Nodus__V1__SetWeight sw = NODUS__V1__SET_WEIGHT__INIT;
        sw.weight = weight;
        Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
        m.body_case = NODUS__V1__MSG__BODY_SET_WEIGHT;
        m.set_weight = &sw;
        if ((rc = append_msg(n, c, &m)) < 0) return rc;
    }
    if (closing) {
        Nodus__V1__Bye bye = NODUS__V1__BYE__INIT;
        Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
        m.body_case = NODUS__V1__MSG__BODY_BYE;
        m.bye = &bye;
        if ((rc = append_msg(n, c, &m)) < 0) return rc;
        c->bye_queued = true;
    }
    return 0;
}

/* Writes as much of c->out as the socket takes. */
static int write_out(nodus_t *n, struct comm *c)
{
    while (c->out_off < c->out.len) {
        ssize_t w = send(n->fd, c->out.data + c->out_off, c->out.len - c->out_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            c->write_failed = true; /* lost, unless the daemon said why first (comm_main) */
            return NODUS_ECLOSED;
        }
        c->out_off += (size_t)w;
    }
    if (c->out_off == c->out.len) {
        c->out.len = 0;
        c->out_off = 0;
        c->flushed_upto = c->packed_upto;
    } else if (c->out_off >= c->out.len / 2) {
        frame_buf_consume(&c->out, c->out_off);
        c->out_off = 0;
    }
    return 0;
}

/* ---- dispatch ---- */

/* The grant names a kind the task offers and, for a device kind, a device of that kind and one
 * of its slots. Under n->lock. */
static bool grant_kind_ok(const nodus_t *n, const task_entry_t *e, const Nodus__V1__Grant *gr)
{
    if ((unsigned)gr->kind >= DEVICE_KINDS || !e->fn[gr->kind]) return false;
    if (gr->kind == NODUS__V1__DEVICE_KIND__DEVICE_KIND_CPU) return true;
    if (gr->device >= n->ndevices) return false;
    const device_t *d = &n->devices[gr->device];
    return (unsigned)d->kind == (unsigned)gr->kind && gr->slot < d->slots;
}

static int handle_grants(nodus_t *n, struct comm *c, const Nodus__V1__Grants *g)
{
    size_t k = g->n_grants;
    void *arr = c->items;
    size_t cap = c->items_cap;
    int rc = array_reserve(&arr, &cap, k, sizeof *c->items);
    c->items = arr;
    if (rc < 0) return rc;
    if (cap != c->items_cap) {
        size_t *iw = realloc(c->item_worker, cap * sizeof *iw);
        if (!iw) return NODUS_ENOMEM;
        c->item_worker = iw;
        c->items_cap = cap;
    }

    pthread_mutex_lock(&n->lock);
    for (size_t i = 0; i < k && rc == 0; i++) {
        const Nodus__V1__Grant *gr = g->grants[i];
        uint64_t id = replay_local_of(n->replay, gr->task_id);
        task_entry_t *e = id ? table_lookup(&n->table, id) : NULL;
        if (!e || e->state != TASK_ENTRY_SUBMITTED || gr->n_cores != e->ncores ||
            !grant_kind_ok(n, e, gr)) {
            rc = NODUS_EPROTO;
            break;
        }
        for (size_t j = 0; j < gr->n_cores; j++)
            if (gr->cores[j] >= n->cpu_worker_len || n->cpu_worker[gr->cores[j]] < 0)
                rc = NODUS_EPROTO;
        if (rc < 0) break;
        session_task_state(n, e, TASK_ENTRY_GRANTED);
        e->kind = (uint8_t)gr->kind;
        e->run++;
        if (gr->kind == NODUS__V1__DEVICE_KIND__DEVICE_KIND_CUDA) n->cuda_used = true;
        c->items[i] = (grant_item_t){.id = id,
                                     .fn = e->fn[gr->kind],
                                     .arg = e->arg,
                                     .ncores = e->ncores,
                                     .cpu0 = gr->cores[0],
                                     .cpus = NULL,
                                     .kind = (nodus_device_kind_t)gr->kind,
                                     .device = gr->device,
                                     .slot = gr->slot,
                                     .epoch = atomic_load(&n->epoch),
                                     .run = e->run};
        c->item_worker[i] = (size_t)n->cpu_worker[gr->cores[0]];
    }
    pthread_mutex_unlock(&n->lock);
    if (rc < 0) return rc;

    for (size_t i = 0; i < k; i++) {
        grant_item_t *item = &c->items[i];
        if (item->ncores > 1) {
            item->cpus = malloc(item->ncores * sizeof *item->cpus);
            if (!item->cpus) return NODUS_ENOMEM;
            memcpy(item->cpus, g->grants[i]->cores, item->ncores * sizeof *item->cpus);
        }
        rc = worker_push(&n->workers[c->item_worker[i]], item);
        if (rc < 0) {
            free(item->cpus);
            return rc;
        }
    }
    return 0;
}

static int handle_wait_done(nodus_t *n, uint64_t token)
{
    bool found = false;
    pthread_mutex_lock(&n->lock);
    for (waiter_t *w = n->waiters; w; w = w->next) {
        if (w->token == token && w->sent && !w->done) {
            w->done = true;
            found = true;
            break;
        }
    }
    if (found) pthread_cond_broadcast(&n->wait_cv);
    pthread_mutex_unlock(&n->lock);
    return found ? 0 : NODUS_EPROTO;
}

static int handle_frame(nodus_t *n, struct comm *c, const uint8_t *payload, size_t len)
{
    Nodus__V1__Msg *m = nodus__v1__msg__unpack(&c->allocator, len, payload);
    const char *why = "undecodable message";
    int rc = m ? msg_validate(m, (unsigned)n->ncpus, &why) : NODUS_EPROTO;
    if (rc == 0) {
        switch (m->body_case) {
        case NODUS__V1__MSG__BODY_GRANTS:
            rc = handle_grants(n, c, m->grants);
            why = "bad grant";
            break;
        case NODUS__V1__MSG__BODY_WAIT_DONE:
            rc = handle_wait_done(n, m->wait_done->token);
            why = "wait_done for an unknown token";
            break;
        case NODUS__V1__MSG__BODY_ERROR:
            rc = error_from_wire(m->error->code);
            if (rc == 0) rc = NODUS_EPROTO;
            why = m->error->message && *m->error->message ? m->error->message : "daemon error";
            break;
        case NODUS__V1__MSG__BODY_BYE:
            rc = NODUS_ECLOSED;
            why = "daemon said bye";
            break;
        default:
            rc = NODUS_EPROTO;
            why = "unexpected message";
            break;
        }
    }
    if (rc < 0 && n->debug)
        fprintf(stderr, "libnodus: session %llu: %s (%s): %s\n",
                (unsigned long long)atomic_load(&n->session_id), m ? msg_body_name(m) : "?", why,
                nodus_strerror(rc));
    arena_reset(c);
    return rc;
}

/* Reads what the socket has and dispatches every whole frame. */
static int read_in(nodus_t *n, struct comm *c)
{
    for (int round = 0; round < 16; round++) {
        uint8_t *space;
        size_t avail;
        if (frame_reader_space(&c->reader, READ_CHUNK, &space, &avail) < 0) return NODUS_ENOMEM;
        ssize_t got = recv(n->fd, space, avail, MSG_DONTWAIT);
        if (got < 0 && (errno == EINTR)) continue;
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
        if (got <= 0) {
            c->lost = true; /* end of stream or a reset, without an Error or Bye first */
            return NODUS_ECLOSED;
        }
        frame_reader_commit(&c->reader, (size_t)got);
        const uint8_t *payload;
        size_t len;
        int rc;
        while ((rc = frame_reader_next(&c->reader, &payload, &len)) == 1) {
            rc = handle_frame(n, c, payload, len);
            if (rc < 0) return rc;
        }
        if (rc < 0) return NODUS_EPROTO;
        if ((size_t)got < avail) return 0; /* drained */
    }
    return 0;
}

/* ---- the thread ---- */

static uint64_t comm_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* True when something is queued for the comm thread (its last look before sleeping). */
static bool has_work(nodus_t *n, struct comm *c)
{
    pthread_mutex_lock(&n->lock);
    bool work = n->pending.ntasks || n->waits_unsent || n->weight_to_send ||
                (n->closing && !c->bye_queued) || c->flushed_upto != c->published_upto;
    pthread_mutex_unlock(&n->lock);
    if (!work) work = done_pending(n);
    return work;
}

/* Dispatches the whole frames already buffered (those that came with a Welcome). */
static int dispatch_buffered(nodus_t *n, struct comm *c)
{
    const uint8_t *payload;
    size_t len;
    int rc;
    while ((rc = frame_reader_next(&c->reader, &payload, &len)) == 1)
        if ((rc = handle_frame(n, c, payload, len)) < 0) break;
    if (rc < 0) return rc == NODUS_ENOMEM ? rc : NODUS_EPROTO;
    return 0;
}

/*
 * The daemon was lost: recover (reconnect.c) on a new connection, drop whatever was queued for
 * the old one, resubmit the tasks that never started (first, in their order), and send the
 * pending waits again after them. Returns 0 when connected again, RECONNECT_CLOSED, or an error.
 */
static int comm_recover(nodus_t *n, struct comm *c)
{
    frame_reader_t reader;
    int rc = reconnect_run(n, &c->done, &reader);
    if (rc != 0) return rc;
    frame_reader_free(&c->reader);
    c->reader = reader;
    c->out.len = 0; /* Submits are replayed, Dones were for the old session, Waits go again */
    c->out_off = 0;
    c->lost = false;
    c->write_failed = false;
    c->flushed_upto = c->packed_upto;
    rc = replay_rebuild(n, &c->sending, c->packed_upto + 1);
    if (rc == 0) rc = pack_submits(n, c);
    if (rc < 0) return rc;
    pthread_mutex_lock(&n->lock);
    for (waiter_t *w = n->waiters; w; w = w->next) {
        if (w->sent && !w->done) {
            w->sent = false;
            n->waits_unsent++;
        }
    }
    pthread_mutex_unlock(&n->lock);
    return dispatch_buffered(n, c);
}

static void *comm_main(void *arg)
{
    nodus_t *n = arg;
    struct comm *c = n->comm;
    pthread_setname_np(pthread_self(), "nodus-comm");
    int rc = dispatch_buffered(n, c); /* bytes that arrived with the Welcome */
connected:
    while (rc == 0) {
        if ((rc = collect(n, c)) < 0 || (rc = write_out(n, c)) < 0) break;
        bool unsent = c->out_off < c->out.len;
        if (c->bye_queued && !unsent) break; /* session over */
        /* with too much unsent, take no new work (collect() refuses it): wait for the socket */
        bool backlogged = c->out.len - c->out_off > OUT_BACKLOG_MAX;
        struct pollfd p[2] = {{.fd = n->fd, .events = POLLIN | (unsent ? POLLOUT : 0)},
                              {.fd = backlogged ? -1 : n->wake_fd, .events = POLLIN}};
        int pr = 0;
        if (!backlogged && n->comm_spin_ns &&
            !atomic_load_explicit(&n->work_hint, memory_order_relaxed)) {
            /* the next grant or done report usually comes within one round trip: polling (and
             * yielding, for the daemon and workers that may share this CPU) beats sleeping, and
             * producers only raise work_hint meanwhile (comm_idle is false: no eventfd write) */
            uint64_t deadline = comm_now_ns() + n->comm_spin_ns;
            while (!atomic_load_explicit(&n->work_hint, memory_order_relaxed) &&
                   (pr = poll(p, 2, 0)) == 0 && comm_now_ns() < deadline)
                sched_yield();
        }
        if (pr == 0) {
            /* queued work: just look at the socket; backlogged: wait for it; else sleep */
            int timeout = backlogged ? -1 : 0;
            if (!backlogged && !atomic_load_explicit(&n->work_hint, memory_order_relaxed)) {
                atomic_store(&n->comm_idle, true);
                atomic_thread_fence(memory_order_seq_cst);
                if (!has_work(n, c)) timeout = -1;
            }
            pr = poll(p, 2, timeout);
        }
        atomic_store(&n->comm_idle, false);
        if (pr < 0) {
            if (errno == EINTR) continue;
            rc = NODUS_EIO;
            break;
        }
        if (p[1].revents & POLLIN) {
            uint64_t count;
            ssize_t r = read(n->wake_fd, &count, sizeof count);
            (void)r; /* EAGAIN: another read drained it */
        }
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) rc = read_in(n, c);
    }
    if (rc == NODUS_ECLOSED && c->write_failed) {
        /* a daemon that ended the session on purpose sent an Error before it closed: it may
         * wait unread in the socket, and it decides (read_in() sets `lost` only at the end) */
        int r = read_in(n, c);
        rc = r < 0 ? r : NODUS_ECLOSED;
        if (r == 0) c->lost = true;
    }
    /* the daemon vanished without an Error or Bye (a crash, not a drain or kill): recover */
    if (rc == NODUS_ECLOSED && c->lost && !c->bye_queued && n->reconnect_ms > 0) {
        rc = comm_recover(n, c);
        if (rc == 0) goto connected;
        if (rc == RECONNECT_CLOSED) rc = 0;
    }
    if (rc < 0) session_fail(n, rc);
    return NULL;
}

int comm_start(nodus_t *n, frame_reader_t *reader)
{
    struct comm *c = calloc(1, sizeof *c);
    if (!c) return NODUS_ENOMEM;
    c->reader = *reader;
    memset(reader, 0, sizeof *reader);
    frame_buf_init(&c->out);
    submit_buf_init(&c->sending);
    c->allocator.alloc = arena_alloc;
    c->allocator.free = arena_free;
    c->allocator.allocator_data = c;
    n->comm = c;

    /* the comm thread takes no signals meant for the host; workers restore the host's mask */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = pthread_create(&n->comm_thread, NULL, comm_main, n);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != 0) return NODUS_ENOMEM;
    n->comm_started = true;
    return 0;
}

void comm_join(nodus_t *n)
{
    if (n->comm_started) {
        pthread_join(n->comm_thread, NULL);
        n->comm_started = false;
    }
}

void comm_destroy(nodus_t *n)
{
    struct comm *c = n->comm;
    if (!c) return;
    frame_reader_free(&c->reader);
    frame_buf_free(&c->out);
    submit_buf_free(&c->sending);
    done_batch_free(&c->done);
    free(c->waits);
    free(c->specs);
    free(c->spec_ptrs);
    free(c->access_ptrs);
    free(c->items);
    free(c->item_worker);
    while (c->arena) {
        arena_block_t *next = c->arena->next;
        free(c->arena);
        c->arena = next;
    }
    free(c);
    n->comm = NULL;
}
