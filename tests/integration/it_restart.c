/*
 * it_restart: the client side of test_daemon_restart.sh (nodusd SIGKILLed and restarted while
 * this client runs; docs/protocol.md, "Daemon restarts").
 *
 *   it_restart graph NTASKS SEED US
 *       a random graph (chains and fan-outs of short tasks with partially overlapping accesses
 *       over one array, each body spinning US µs), submitted in four rounds with a taskwait (or a
 *       taskwait_on the array) after each. Checks: the final array and every task's reads are
 *       bit-identical to sequential execution, and every body ran exactly once. Prints
 *       "reconnects N".
 *   it_restart lost MARK IDEMPOTENT GATE_MS
 *       (needs OpenCL) one OpenCL task whose device work cannot complete (a marker waits on a
 *       user event) until GATE_MS after submission, or until the taskwait returned; creates the
 *       file MARK once the body ran, for the script to kill the daemon. With IDEMPOTENT 0 the
 *       taskwait must fail with NODUS_ELOST after the body ran once; with 1 it must succeed
 *       after the body ran twice. Exits 77 without an OpenCL device.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nodus.h>

#include "it_hash_kernel.h"
#if IT_RESTART_OPENCL
#include <nodus/opencl.h>
#endif

#define ELEMS   512
#define MAX_ACC 3
#define ROUNDS  4

typedef struct task_rec {
    nodus_access_t acc[MAX_ACC];
    int nacc;
    unsigned idx;
    unsigned spin_us;
    uint32_t read_hash;
    atomic_uint runs;
} task_rec_t;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Reads (IN, INOUT) into a hash, then writes (OUT, INOUT) values derived from it. */
static void kernel(task_rec_t *t)
{
    t->read_hash = it_hash_kernel(t->acc, t->nacc, t->idx);
}

static void body(void *p)
{
    task_rec_t *t = p;
    atomic_fetch_add(&t->runs, 1);
    uint64_t until = now_ns() + (uint64_t)t->spin_us * 1000u;
    kernel(t);
    while (now_ns() < until)
        ;
}

static uint64_t rng_state;
static uint32_t rng(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33);
}

static int graph(size_t count, unsigned seed, unsigned spin_us)
{
    uint32_t *arr = calloc(ELEMS, 4), *ref = calloc(ELEMS, 4);
    task_rec_t *t = calloc(count, sizeof *t);
    uint32_t *ref_hash = calloc(count, sizeof *ref_hash);
    if (!arr || !ref || !t || !ref_hash) return 1;
    rng_state = seed;
    for (size_t i = 0; i < count; i++) {
        t[i].idx = (unsigned)i;
        t[i].spin_us = spin_us;
        atomic_init(&t[i].runs, 0);
        /* a third are one-element INOUT links of a few long chains; the rest read or write
         * random ranges, which fans chains out and in; a few access nothing */
        unsigned shape = rng() % 30;
        if (shape == 0) continue; /* no accesses: depends on nothing */
        if (shape % 3 == 0) {
            t[i].nacc = 1;
            t[i].acc[0] = (nodus_access_t){arr + (rng() % 4) * 100, 4, NODUS_INOUT};
            continue;
        }
        t[i].nacc = 1 + (int)(rng() % MAX_ACC);
        for (int a = 0; a < t[i].nacc; a++) {
            size_t slice = ELEMS / (size_t)t[i].nacc;
            size_t lo = (size_t)a * slice + rng() % slice;
            size_t len = 1 + rng() % (slice - (lo - (size_t)a * slice));
            if (len > 16) len = 1 + len % 16;
            static const nodus_mode_t modes[] = {NODUS_IN, NODUS_OUT, NODUS_INOUT};
            t[i].acc[a] = (nodus_access_t){arr + lo, len * 4, modes[rng() % 3]};
        }
    }
    for (size_t i = 0; i < count; i++) {
        task_rec_t c = {.nacc = t[i].nacc, .idx = t[i].idx};
        for (int a = 0; a < c.nacc; a++) {
            c.acc[a] = t[i].acc[a];
            c.acc[a].addr = ref + ((const uint32_t *)t[i].acc[a].addr - arr);
        }
        kernel(&c);
        ref_hash[i] = c.read_hash;
    }

    int bad = 0;
    nodus_t *n;
    int rc = nodus_open(&n, "it_restart", NULL);
    if (rc < 0) {
        fprintf(stderr, "it_restart: nodus_open: %s\n", nodus_strerror(rc));
        bad = 1;
        goto out;
    }
    for (int round = 0; round < ROUNDS && rc == 0; round++) {
        size_t from = count * (size_t)round / ROUNDS, to = count * (size_t)(round + 1) / ROUNDS;
        for (size_t i = from; i < to && rc == 0; i++)
            rc = nodus_submit(n, body, &t[i], t[i].acc, (size_t)t[i].nacc, NULL);
        /* both kinds of wait must survive a restart (they are sent again) */
        if (rc == 0) rc = round % 2 ? nodus_taskwait_on(n, arr, ELEMS * 4) : nodus_taskwait(n);
    }
    unsigned reconnects = nodus_reconnect_count(n);
    int crc = nodus_close(n);
    if (rc == 0) rc = crc;
    printf("reconnects %u\n", reconnects);
    if (rc < 0) {
        fprintf(stderr, "it_restart: %s\n", nodus_strerror(rc));
        bad = 1;
        goto out;
    }
    for (size_t i = 0; i < count; i++) {
        unsigned runs = atomic_load(&t[i].runs);
        if (runs != 1 && bad++ < 5) fprintf(stderr, "it_restart: task %zu ran %u times\n", i, runs);
        if (runs == 1 && t[i].read_hash != ref_hash[i] && bad++ < 5)
            fprintf(stderr, "it_restart: task %zu read other data than in sequential order\n", i);
    }
    if (memcmp(arr, ref, ELEMS * 4) != 0) {
        fprintf(stderr, "it_restart: final array differs from sequential execution\n");
        bad++;
    }
    if (!bad) printf("graph: %zu tasks, seed %u: identical to sequential execution\n", count, seed);
out:
    free(arr);
    free(ref);
    free(t);
    free(ref_hash);
    return bad ? 1 : 0;
}

#if IT_RESTART_OPENCL

typedef struct lost_task {
    cl_event gate; /* user event: the first run's device work waits on it */
    const char *mark;
    unsigned gate_ms;
    atomic_uint runs;
    pthread_mutex_t lock;
    pthread_cond_t cv;
    bool open_now; /* the outcome is known: open the gate at once */
} lost_task_t;

static void lost_body(void *p)
{
    lost_task_t *t = p;
    unsigned run = atomic_fetch_add(&t->runs, 1);
    cl_int err =
        run == 0 ? clEnqueueMarkerWithWaitList(nodus_cl_queue(), 1, &t->gate, NULL) : CL_SUCCESS;
    if (err != CL_SUCCESS) fprintf(stderr, "it_restart: enqueue: %d\n", err);
    if (run == 0) {
        FILE *f = fopen(t->mark, "w");
        if (f) fclose(f);
    }
}

/* Opens the gate GATE_MS after start, or earlier once the main thread has its answer. */
static void *open_gate(void *p)
{
    lost_task_t *t = p;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += t->gate_ms / 1000;
    until.tv_nsec += (long)(t->gate_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&t->lock);
    while (!t->open_now && pthread_cond_timedwait(&t->cv, &t->lock, &until) != ETIMEDOUT)
        ;
    pthread_mutex_unlock(&t->lock);
    clSetUserEventStatus(t->gate, CL_COMPLETE);
    return NULL;
}

static int lost(const char *mark, int idempotent, unsigned gate_ms)
{
    nodus_t *n;
    int rc = nodus_open(&n, "it_restart_lost", NULL);
    if (rc < 0) {
        fprintf(stderr, "it_restart: nodus_open: %s\n", nodus_strerror(rc));
        return 1;
    }
    int dev = -1;
    for (int i = 0; i < nodus_num_devices(n) && dev < 0; i++) {
        nodus_device_kind_t kind;
        if (nodus_device_info(n, i, &kind, NULL, 0) == 0 && kind == NODUS_DEV_OPENCL) dev = i;
    }
    cl_context ctx;
    if (dev < 0 || nodus_cl_device_context(n, dev, &ctx, NULL) < 0) {
        nodus_close(n);
        return 77;
    }
    lost_task_t t = {.mark = mark, .gate_ms = gate_ms};
    atomic_init(&t.runs, 0);
    pthread_mutex_init(&t.lock, NULL);
    pthread_cond_init(&t.cv, NULL);
    cl_int err;
    t.gate = clCreateUserEvent(ctx, &err);
    nodus_task_attr_t *attr;
    if (err != CL_SUCCESS || nodus_task_attr_create(&attr) < 0) return 1;
    nodus_task_attr_set_impl(attr, NODUS_DEV_OPENCL, lost_body);
    nodus_task_attr_set_idempotent(attr, idempotent);
    pthread_t gate_thread;
    pthread_create(&gate_thread, NULL, open_gate, &t);
    static int data;
    nodus_access_t acc = {&data, sizeof data, NODUS_INOUT};
    rc = nodus_submit(n, NULL, &t, &acc, 1, attr);
    if (rc == 0) rc = nodus_taskwait(n);
    unsigned reconnects = nodus_reconnect_count(n);
    pthread_mutex_lock(&t.lock);
    t.open_now = true;
    pthread_cond_signal(&t.cv);
    pthread_mutex_unlock(&t.lock);
    pthread_join(gate_thread, NULL); /* the queue must drain before close */
    int crc = nodus_close(n);
    nodus_task_attr_destroy(attr);
    clReleaseEvent(t.gate);
    pthread_cond_destroy(&t.cv);
    pthread_mutex_destroy(&t.lock);
    unsigned runs = atomic_load(&t.runs);
    printf("lost: idempotent %d: taskwait %s, close %s, runs %u, reconnects %u\n", idempotent,
           nodus_strerror(rc), nodus_strerror(crc), runs, reconnects);
    if (idempotent) return rc == 0 && crc == 0 && runs == 2 && reconnects == 1 ? 0 : 1;
    return rc == NODUS_ELOST && crc == NODUS_ELOST && runs == 1 ? 0 : 1;
}

#else

static int lost(const char *mark, int idempotent, unsigned gate_ms)
{
    (void)mark;
    (void)idempotent;
    (void)gate_ms;
    return 77; /* built without OpenCL */
}

#endif

int main(int argc, char **argv)
{
    if (argc >= 5 && !strcmp(argv[1], "graph"))
        return graph(strtoul(argv[2], NULL, 10), (unsigned)atoi(argv[3]), (unsigned)atoi(argv[4]));
    if (argc >= 5 && !strcmp(argv[1], "lost"))
        return lost(argv[2], atoi(argv[3]), (unsigned)atoi(argv[4]));
    fprintf(stderr, "usage: it_restart graph NTASKS SEED US | lost MARK IDEMPOTENT GATE_MS\n");
    return 2;
}
