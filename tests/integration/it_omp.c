/*
 * it_omp: OpenMP inside task bodies is held to the granted cores (client-lib/src/threadlibs.c).
 *
 *   it_omp held|unheld ROUNDS
 *
 * Each round submits, on a daemon of one or two cores: two independent one-core tasks whose
 * bodies run a plain `#pragma omp parallel`, and (two cores) a chain of a two-core parallel task
 * with a plain region followed by a one-core task whose region asks for num_threads(2). Every
 * team member records its CPU (sched_getcpu(), before and after a barrier) and its affinity mask.
 * "held" checks, in every body: a plain region's team has exactly the granted core count; every
 * member of every region runs on, and may only run on, granted CPUs. The chain is what catches
 * libgomp's per-thread pool reuse: a pool thread made under the two-core grant, reused by the
 * next one-core body of the same worker, would still be allowed both CPUs. At the end the main
 * thread's own team size is still the default. "unheld" ($NODUS_HOLD_OMP=0) checks that a plain
 * region's team has the default size (every CPU of the process) whatever the grant. Exit 0 when
 * every check holds and every kind of body ran.
 */
#include <omp.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nodus.h>

#define IT_OMP_MAX_TEAM 64

typedef enum { IT_OMP_PLAIN, IT_OMP_FORCED_TWO } it_omp_region_t;

static int held;
static int default_team; /* the main thread's omp_get_max_threads() before nodus_open */
static atomic_int failures;
static atomic_int bodies[3]; /* [0]: one-core plain, [1]: two-core plain, [2]: one-core forced */
static atomic_int spread;    /* two-core bodies whose members ran on two distinct CPUs */

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        if (atomic_fetch_add(&failures, 1) < 10) {                                                 \
            fprintf(stderr, "it_omp: " __VA_ARGS__);                                               \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

static int it_omp_granted(const int *cores, int ncores, int cpu)
{
    for (int i = 0; i < ncores; i++)
        if (cores[i] == cpu) return 1;
    return 0;
}

static void it_omp_body(void *arg)
{
    it_omp_region_t kind = (it_omp_region_t)(intptr_t)arg;
    int cores[8];
    int ncores = nodus_task_cores(cores, 8);
    if (ncores < 1 || ncores > 8) {
        FAIL("body: nodus_task_cores() = %d", ncores);
        return;
    }
    int team = 0;
    int cpu[IT_OMP_MAX_TEAM][2];
    cpu_set_t mask[IT_OMP_MAX_TEAM];
    int want = kind == IT_OMP_FORCED_TWO ? 2 : 0;
#pragma omp parallel num_threads(want ? want : omp_get_max_threads())
    {
        int me = omp_get_thread_num();
#pragma omp single
        team = omp_get_num_threads();
        if (me < IT_OMP_MAX_TEAM) {
            cpu[me][0] = sched_getcpu();
            sched_getaffinity(0, sizeof mask[me], &mask[me]);
        }
#pragma omp barrier
        if (me < IT_OMP_MAX_TEAM) cpu[me][1] = sched_getcpu();
    }
    /* held: the granted cores, or fewer when OMP_NUM_THREADS (default_team then) says so */
    int expect = kind == IT_OMP_FORCED_TWO ? 2
                 : held                    ? (ncores < default_team ? ncores : default_team)
                                           : default_team;
    if (team != expect)
        FAIL("%d-core %s body: team of %d, expected %d", ncores,
             kind == IT_OMP_FORCED_TWO ? "num_threads(2)" : "plain", team, expect);
    atomic_fetch_add(&bodies[kind == IT_OMP_FORCED_TWO ? 2 : ncores > 1], 1);
    if (!held) return;
    int distinct = -1;
    for (int t = 0; t < team && t < IT_OMP_MAX_TEAM; t++) {
        for (int k = 0; k < 2; k++)
            if (!it_omp_granted(cores, ncores, cpu[t][k]))
                FAIL("%d-core body: member %d of %d ran on CPU %d, not granted", ncores, t, team,
                     cpu[t][k]);
        for (int c = 0; c < CPU_SETSIZE; c++)
            if (CPU_ISSET(c, &mask[t]) && !it_omp_granted(cores, ncores, c))
                FAIL("%d-core body: member %d of %d may run on CPU %d, not granted", ncores, t,
                     team, c);
        if (distinct == -1)
            distinct = cpu[t][1];
        else if (distinct != cpu[t][1])
            distinct = -2;
    }
    if (ncores > 1 && kind == IT_OMP_PLAIN && distinct == -2) atomic_fetch_add(&spread, 1);
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "held") && strcmp(argv[1], "unheld"))) {
        fprintf(stderr, "usage: it_omp held|unheld ROUNDS\n");
        return 2;
    }
    held = !strcmp(argv[1], "held");
    int rounds = atoi(argv[2]);
    default_team = omp_get_max_threads();
    nodus_t *n;
    int rc = nodus_open(&n, "it_omp", NULL);
    if (rc < 0) {
        fprintf(stderr, "it_omp: nodus_open: %s\n", nodus_strerror(rc));
        return 1;
    }
    int ncores = nodus_num_cores(n);
    nodus_task_attr_t *wide;
    if (nodus_task_attr_create(&wide) < 0 || nodus_task_attr_set_cores(wide, 2) < 0) {
        fprintf(stderr, "it_omp: task attributes\n");
        return 1;
    }
    static char chain; /* orders each round's two-core body before its forced one-core body */
    nodus_access_t chain_acc = {&chain, 1, NODUS_INOUT};
    for (int r = 0; r < rounds && rc == 0; r++) {
        for (int i = 0; i < 2 && rc == 0; i++)
            rc = nodus_submit(n, it_omp_body, (void *)(intptr_t)IT_OMP_PLAIN, NULL, 0, NULL);
        if (ncores >= 2 && rc == 0)
            rc = nodus_submit(n, it_omp_body, (void *)(intptr_t)IT_OMP_PLAIN, &chain_acc, 1, wide);
        if (ncores >= 2 && rc == 0)
            rc = nodus_submit(n, it_omp_body, (void *)(intptr_t)IT_OMP_FORCED_TWO, &chain_acc, 1,
                              NULL);
    }
    if (rc == 0) rc = nodus_taskwait(n);
    nodus_task_attr_destroy(wide);
    int crc = nodus_close(n);
    if (rc < 0 || crc < 0) {
        fprintf(stderr, "it_omp: %s\n", nodus_strerror(rc < 0 ? rc : crc));
        return 1;
    }
    if (omp_get_max_threads() != default_team)
        FAIL("main thread's team size changed from %d to %d", default_team, omp_get_max_threads());
    int want2 = ncores >= 2 ? rounds : 0;
    if (bodies[0] != 2 * rounds || bodies[1] != want2 || bodies[2] != want2)
        FAIL("ran %d one-core, %d two-core, %d num_threads(2) bodies; expected %d, %d, %d",
             atomic_load(&bodies[0]), atomic_load(&bodies[1]), atomic_load(&bodies[2]), 2 * rounds,
             want2, want2);
    printf("it_omp %s: %d cores, default team %d, %d+%d+%d bodies, %d two-core teams spread over "
           "two CPUs, %d failures\n",
           argv[1], ncores, default_team, atomic_load(&bodies[0]), atomic_load(&bodies[1]),
           atomic_load(&bodies[2]), atomic_load(&spread), atomic_load(&failures));
    return atomic_load(&failures) ? 1 : 0;
}
