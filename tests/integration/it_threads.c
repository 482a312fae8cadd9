/*
 * it_threads: libnodus used from many threads at once, for ThreadSanitizer.
 *
 *   it_threads [THREADS] [TASKS_PER_THREAD]
 *
 * THREADS application threads share one session. Each submits TASKS_PER_THREAD tasks in a loop:
 *   - a chain on its own slot (INOUT): each body checks that it runs in submission order;
 *   - every 4th task also INOUT on one shared counter, incremented without atomics: only the
 *     dependency on it keeps two bodies apart, so a missed dependency is a data race that TSan
 *     reports (and a lost update that the final count shows);
 *   - every 8th body submits a task itself (nested submission from a worker thread), INOUT on
 *     the thread's nested counter;
 *   - every 16th iteration waits on its own slot (nodus_taskwait_on) and checks the chain so
 *     far; every 64th sets the job weight; taskwait from inside a body must say NODUS_ESTATE.
 * With NODUS_MAX_OUTSTANDING small, submitters block on back-pressure while others complete.
 * At the end the main thread waits for everything and checks every counter exactly. Exit 0
 * when every check holds.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nodus.h>

#define MAX_THREADS 16

typedef struct thread_slot {
    uint64_t chain;           /* bodies of the chain run so far; each checks its own index */
    uint64_t nested;          /* nested tasks run */
    uint64_t nested_expected; /* nested tasks submitted (by bodies) */
    char pad[64];             /* keep slots' ranges and cache lines apart */
} thread_slot_t;

typedef struct chain_task {
    int thread;
    uint64_t index; /* position in its thread's chain */
    int shared;     /* also increments the shared counter */
    int nest;       /* submits a nested task */
} chain_task_t;

static nodus_t *session;
static thread_slot_t slots[MAX_THREADS];
static uint64_t shared_counter; /* plain on purpose: the daemon's dependencies guard it */
static atomic_int failures;
static int nthreads;
static unsigned tasks_per_thread;

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "it_threads: " __VA_ARGS__);                                               \
        fputc('\n', stderr);                                                                       \
        atomic_fetch_add(&failures, 1);                                                            \
    } while (0)

static void nested_body(void *arg)
{
    thread_slot_t *s = arg;
    s->nested++;
}

static void chain_body(void *arg)
{
    chain_task_t *t = arg;
    thread_slot_t *s = &slots[t->thread];
    if (s->chain != t->index)
        FAIL("thread %d: chain task %llu ran after %llu others", t->thread,
             (unsigned long long)t->index, (unsigned long long)s->chain);
    s->chain++;
    if (t->shared) shared_counter++;
    if (t->nest) {
        nodus_access_t acc = {&s->nested, sizeof s->nested, NODUS_INOUT};
        /* counted before the submit: the nested body may run before nodus_submit returns, and
         * only the dependency on `nested` orders this increment before the final check */
        s->nested_expected++;
        int rc = nodus_submit(session, nested_body, s, &acc, 1, NULL);
        if (rc < 0) FAIL("nested submit: %s", nodus_strerror(rc));
    }
    if (t->index == 0) {
        int rc = nodus_taskwait(session);
        if (rc != NODUS_ESTATE) FAIL("taskwait from a body returned %d, not ESTATE", rc);
    }
    free(t);
}

static void *submitter(void *arg)
{
    int me = (int)(intptr_t)arg;
    thread_slot_t *s = &slots[me];
    for (unsigned i = 0; i < tasks_per_thread; i++) {
        chain_task_t *t = malloc(sizeof *t);
        if (!t) {
            FAIL("out of memory");
            return NULL;
        }
        t->thread = me;
        t->index = i;
        t->shared = i % 4 == 0;
        t->nest = i % 8 == 3;
        nodus_access_t acc[3] = {
            {&s->chain, sizeof s->chain, NODUS_INOUT},
            {&shared_counter, sizeof shared_counter, NODUS_INOUT},
            {&s->nested_expected, sizeof s->nested_expected, NODUS_INOUT},
        };
        /* a nesting body writes nested_expected: declare it, so the final read is ordered */
        nodus_access_t use[3];
        size_t n = 0;
        use[n++] = acc[0];
        if (t->shared) use[n++] = acc[1];
        if (t->nest) use[n++] = acc[2];
        int rc = nodus_submit(session, chain_body, t, use, n, NULL);
        if (rc < 0) {
            FAIL("thread %d: submit %u: %s", me, i, nodus_strerror(rc));
            free(t);
            return NULL;
        }
        if (i % 16 == 15) {
            rc = nodus_taskwait_on(session, &s->chain, sizeof s->chain);
            if (rc < 0)
                FAIL("thread %d: taskwait_on: %s", me, nodus_strerror(rc));
            else if (s->chain != i + 1)
                FAIL("thread %d: after taskwait_on, %llu of %u chain tasks ran", me,
                     (unsigned long long)s->chain, i + 1);
        }
        if (i % 64 == 63) {
            rc = nodus_set_weight(session, 1 + (unsigned)(i / 64) % 3);
            if (rc < 0) FAIL("thread %d: set_weight: %s", me, nodus_strerror(rc));
        }
    }
    int rc = nodus_flush(session);
    if (rc < 0) FAIL("thread %d: flush: %s", me, nodus_strerror(rc));
    return NULL;
}

int main(int argc, char **argv)
{
    nthreads = argc > 1 ? atoi(argv[1]) : 4;
    tasks_per_thread = argc > 2 ? (unsigned)atoi(argv[2]) : 400;
    if (nthreads < 1 || nthreads > MAX_THREADS || tasks_per_thread < 1) {
        fprintf(stderr, "usage: it_threads [THREADS 1-%d] [TASKS_PER_THREAD]\n", MAX_THREADS);
        return 2;
    }
    int rc = nodus_open(&session, "threads", NULL);
    if (rc < 0) {
        fprintf(stderr, "it_threads: nodus_open: %s\n", nodus_strerror(rc));
        return 1;
    }
    pthread_t th[MAX_THREADS];
    for (int i = 0; i < nthreads; i++)
        if (pthread_create(&th[i], NULL, submitter, (void *)(intptr_t)i) != 0) {
            fprintf(stderr, "it_threads: cannot start thread %d\n", i);
            return 1;
        }
    for (int i = 0; i < nthreads; i++)
        pthread_join(th[i], NULL);
    /* the first wait sees every chain task through; the nested tasks their bodies submitted
     * meanwhile are "submitted so far" only for the second */
    for (int pass = 0; pass < 2; pass++) {
        rc = nodus_taskwait(session);
        if (rc < 0) FAIL("taskwait: %s", nodus_strerror(rc));
    }

    uint64_t shared_expected = 0;
    for (int i = 0; i < nthreads; i++) {
        thread_slot_t *s = &slots[i];
        if (s->chain != tasks_per_thread)
            FAIL("thread %d: %llu of %u chain tasks ran", i, (unsigned long long)s->chain,
                 tasks_per_thread);
        if (s->nested != s->nested_expected)
            FAIL("thread %d: %llu of %llu nested tasks ran", i, (unsigned long long)s->nested,
                 (unsigned long long)s->nested_expected);
        shared_expected += (tasks_per_thread + 3) / 4;
    }
    if (shared_counter != shared_expected)
        FAIL("shared counter %llu, expected %llu (a lost update: two bodies overlapped)",
             (unsigned long long)shared_counter, (unsigned long long)shared_expected);
    rc = nodus_close(session);
    if (rc < 0) FAIL("close: %s", nodus_strerror(rc));
    int f = atomic_load(&failures);
    if (f) {
        fprintf(stderr, "it_threads: %d checks failed\n", f);
        return 1;
    }
    printf("it_threads: %d threads x %u tasks (+ nested), every check held\n", nthreads,
           tasks_per_thread);
    return 0;
}
