/*
 * it_dag: dependency-order integration test client.
 *
 *   it_dag cholesky [TILES] [TILE_SIZE]   tiled Cholesky (POTRF/TRSM/SYRK/GEMM tasks on tiles);
 *                                         checks L*L^T == A and the execution order
 *   it_dag random [NTASKS] [SEED]         random tasks with partially overlapping ranges over one
 *                                         array; the final array and every task's reads must be
 *                                         bit-identical to running the tasks sequentially
 *
 * In both modes every task records a global start/end sequence number, and an O(n^2) oracle
 * checks that for every pair of conflicting tasks (overlapping bytes, at least one writer) the
 * earlier one ended before the later one started.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nodus.h>

#include "it_hash_kernel.h"

#define MAX_ACC 4

typedef struct task_rec {
    nodus_access_t acc[MAX_ACC];
    int nacc;
    unsigned long start_seq, end_seq;
    void (*kernel)(struct task_rec *);
    /* kernel operands */
    double *a, *b, *c;
    int bs;
    uint32_t *arr;
    uint32_t read_hash;
    unsigned idx;
} task_rec_t;

static atomic_ulong seq;

static void run_task(void *p)
{
    task_rec_t *t = p;
    t->start_seq = atomic_fetch_add(&seq, 1) + 1;
    t->kernel(t);
    t->end_seq = atomic_fetch_add(&seq, 1) + 1;
}

static int overlap(const nodus_access_t *x, const nodus_access_t *y)
{
    uintptr_t xa = (uintptr_t)x->addr, ya = (uintptr_t)y->addr;
    return xa < ya + y->len && ya < xa + x->len;
}

/* The order oracle: every conflicting earlier task ended before the later one started. */
static int check_order(task_rec_t *t, size_t n)
{
    size_t bad = 0;
    for (size_t j = 0; j < n; j++) {
        if (!t[j].start_seq || !t[j].end_seq) {
            fprintf(stderr, "it_dag: task %zu did not run\n", j);
            return 1;
        }
        for (size_t i = 0; i < j; i++) {
            int conflict = 0;
            for (int x = 0; x < t[i].nacc && !conflict; x++)
                for (int y = 0; y < t[j].nacc && !conflict; y++)
                    if (overlap(&t[i].acc[x], &t[j].acc[y]) &&
                        (t[i].acc[x].mode != NODUS_IN || t[j].acc[y].mode != NODUS_IN))
                        conflict = 1;
            if (conflict && t[i].end_seq > t[j].start_seq) {
                if (bad++ < 5)
                    fprintf(stderr, "it_dag: task %zu started before task %zu ended\n", j, i);
            }
        }
    }
    return bad ? 1 : 0;
}

static int submit_all(nodus_t *n, task_rec_t *t, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        int rc = nodus_submit(n, run_task, &t[i], t[i].acc, (size_t)t[i].nacc, NULL);
        if (rc < 0) {
            fprintf(stderr, "it_dag: submit: %s\n", nodus_strerror(rc));
            return rc;
        }
    }
    return nodus_taskwait(n);
}

/* ---- tiled Cholesky, column-major tiles, lower triangle ---- */

static void k_potrf(task_rec_t *t)
{
    double *a = t->a;
    int bs = t->bs;
    for (int j = 0; j < bs; j++) {
        double d = a[j * bs + j];
        for (int k = 0; k < j; k++)
            d -= a[k * bs + j] * a[k * bs + j];
        d = sqrt(d);
        a[j * bs + j] = d;
        for (int i = j + 1; i < bs; i++) {
            double s = a[j * bs + i];
            for (int k = 0; k < j; k++)
                s -= a[k * bs + i] * a[k * bs + j];
            a[j * bs + i] = s / d;
        }
        for (int i = 0; i < j; i++)
            a[j * bs + i] = 0.0;
    }
}

/* b := b * inv(L^T), L = a (lower) */
static void k_trsm(task_rec_t *t)
{
    const double *l = t->a;
    double *b = t->b;
    int bs = t->bs;
    for (int i = 0; i < bs; i++)
        for (int j = 0; j < bs; j++) {
            double s = b[j * bs + i];
            for (int k = 0; k < j; k++)
                s -= b[k * bs + i] * l[k * bs + j];
            b[j * bs + i] = s / l[j * bs + j];
        }
}

/* c := c - a * b^T */
static void k_gemm(task_rec_t *t)
{
    const double *a = t->a, *b = t->b;
    double *c = t->c;
    int bs = t->bs;
    for (int j = 0; j < bs; j++)
        for (int k = 0; k < bs; k++) {
            double bjk = b[k * bs + j];
            for (int i = 0; i < bs; i++)
                c[j * bs + i] -= a[k * bs + i] * bjk;
        }
}

static int cholesky(nodus_t *n, int nt, int bs)
{
    int dim = nt * bs;
    size_t tsz = (size_t)bs * bs;
    double *tiles = calloc((size_t)nt * nt * tsz, sizeof(double));
    double *orig = calloc((size_t)dim * dim, sizeof(double));
    size_t maxtasks = (size_t)nt * nt * nt;
    task_rec_t *t = calloc(maxtasks, sizeof *t);
    if (!tiles || !orig || !t) return 1;
#define TILE(i, j) (tiles + ((size_t)(j)*nt + (i)) * tsz)
    /* SPD matrix: symmetric random + dim on the diagonal */
    srand(7);
    for (int j = 0; j < dim; j++)
        for (int i = j; i < dim; i++) {
            double v = (double)rand() / RAND_MAX - 0.5 + (i == j ? dim : 0.0);
            orig[(size_t)j * dim + i] = orig[(size_t)i * dim + j] = v;
        }
    for (int tj = 0; tj < nt; tj++)
        for (int ti = tj; ti < nt; ti++)
            for (int j = 0; j < bs; j++)
                for (int i = 0; i < bs; i++)
                    TILE(ti, tj)[j * bs + i] = orig[(size_t)(tj * bs + j) * dim + ti * bs + i];
    size_t nt_tasks = 0;
    size_t tbytes = tsz * sizeof(double);
    for (int k = 0; k < nt; k++) {
        task_rec_t *p = &t[nt_tasks++];
        *p = (task_rec_t){.kernel = k_potrf, .a = TILE(k, k), .bs = bs, .nacc = 1};
        p->acc[0] = (nodus_access_t){TILE(k, k), tbytes, NODUS_INOUT};
        for (int i = k + 1; i < nt; i++) {
            p = &t[nt_tasks++];
            *p = (task_rec_t){
                .kernel = k_trsm, .a = TILE(k, k), .b = TILE(i, k), .bs = bs, .nacc = 2};
            p->acc[0] = (nodus_access_t){TILE(k, k), tbytes, NODUS_IN};
            p->acc[1] = (nodus_access_t){TILE(i, k), tbytes, NODUS_INOUT};
        }
        for (int i = k + 1; i < nt; i++)
            for (int j = k + 1; j <= i; j++) {
                p = &t[nt_tasks++];
                *p = (task_rec_t){.kernel = k_gemm,
                                  .a = TILE(i, k),
                                  .b = TILE(j, k),
                                  .c = TILE(i, j),
                                  .bs = bs,
                                  .nacc = i == j ? 2 : 3};
                p->acc[0] = (nodus_access_t){TILE(i, j), tbytes, NODUS_INOUT};
                p->acc[1] = (nodus_access_t){TILE(i, k), tbytes, NODUS_IN};
                if (i != j) p->acc[2] = (nodus_access_t){TILE(j, k), tbytes, NODUS_IN};
            }
    }
    int rc = submit_all(n, t, nt_tasks);
    if (rc < 0) {
        fprintf(stderr, "it_dag: taskwait: %s\n", nodus_strerror(rc));
        return 1;
    }
    if (check_order(t, nt_tasks)) return 1;
    /* residual ||L L^T - A|| / ||A|| on the lower triangle */
    double num = 0, den = 0;
    for (int j = 0; j < dim; j++)
        for (int i = j; i < dim; i++) {
            double s = 0;
            for (int k = 0; k <= j; k++) {
                double lik = TILE(i / bs, k / bs)[(k % bs) * bs + i % bs];
                double ljk = TILE(j / bs, k / bs)[(k % bs) * bs + j % bs];
                s += lik * ljk;
            }
            double a = orig[(size_t)j * dim + i];
            num += (s - a) * (s - a);
            den += a * a;
        }
    double rel = sqrt(num / den);
    printf("cholesky: %d x %d tiles of %d, %zu tasks, relative residual %.3e\n", nt, nt, bs,
           nt_tasks, rel);
    free(tiles);
    free(orig);
    free(t);
    return rel < 1e-12 ? 0 : 1;
#undef TILE
}

/* ---- random partially overlapping ranges over one array ---- */

#define RAND_ELEMS 512

static void k_random(task_rec_t *t)
{
    t->read_hash = it_hash_kernel(t->acc, t->nacc, t->idx);
}

static uint64_t rng_state;
static uint32_t rng(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33);
}

static int random_graph(nodus_t *n, size_t count, unsigned seed)
{
    uint32_t *arr = calloc(RAND_ELEMS, 4), *ref = calloc(RAND_ELEMS, 4);
    task_rec_t *t = calloc(count, sizeof *t);
    uint32_t *ref_hash = calloc(count, sizeof *ref_hash);
    if (!arr || !ref || !t || !ref_hash) return 1;
    rng_state = seed;
    for (size_t i = 0; i < count; i++) {
        t[i].kernel = k_random;
        t[i].idx = (unsigned)i;
        t[i].nacc = 1 + (int)(rng() % MAX_ACC);
        for (int a = 0; a < t[i].nacc; a++) {
            /* disjoint accesses within a task: carve the array into nacc slices */
            size_t slice = RAND_ELEMS / (size_t)t[i].nacc;
            size_t lo = (size_t)a * slice + rng() % slice;
            size_t len = 1 + rng() % (slice - (lo - (size_t)a * slice));
            static const nodus_mode_t modes[] = {NODUS_IN, NODUS_OUT, NODUS_INOUT};
            t[i].acc[a] = (nodus_access_t){arr + lo, len * 4, modes[rng() % 3]};
        }
    }
    /* sequential reference on a copy */
    for (size_t i = 0; i < count; i++) {
        task_rec_t c = t[i];
        for (int a = 0; a < c.nacc; a++)
            c.acc[a].addr = ref + ((const uint32_t *)t[i].acc[a].addr - arr);
        k_random(&c);
        ref_hash[i] = c.read_hash;
    }
    int rc = submit_all(n, t, count);
    if (rc < 0) {
        fprintf(stderr, "it_dag: taskwait: %s\n", nodus_strerror(rc));
        return 1;
    }
    if (check_order(t, count)) return 1;
    if (memcmp(arr, ref, RAND_ELEMS * 4) != 0) {
        fprintf(stderr, "it_dag: final array differs from sequential execution\n");
        return 1;
    }
    for (size_t i = 0; i < count; i++)
        if (t[i].read_hash != ref_hash[i]) {
            fprintf(stderr, "it_dag: task %zu read different data than in sequential order\n", i);
            return 1;
        }
    printf("random: %zu tasks, seed %u: identical to sequential execution\n", count, seed);
    free(arr);
    free(ref);
    free(t);
    free(ref_hash);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: it_dag cholesky [TILES] [BS] | random [N] [SEED]\n");
        return 2;
    }
    nodus_t *n;
    int rc = nodus_open(&n, "it_dag", NULL);
    if (rc < 0) {
        fprintf(stderr, "it_dag: nodus_open: %s\n", nodus_strerror(rc));
        return 1;
    }
    int fail;
    if (!strcmp(argv[1], "cholesky"))
        fail = cholesky(n, argc > 2 ? atoi(argv[2]) : 6, argc > 3 ? atoi(argv[3]) : 24);
    else
        fail = random_graph(n, argc > 2 ? strtoul(argv[2], NULL, 10) : 2000,
                            argc > 3 ? (unsigned)atoi(argv[3]) : 1);
    rc = nodus_close(n);
    if (rc < 0) {
        fprintf(stderr, "it_dag: close: %s\n", nodus_strerror(rc));
        return 1;
    }
    return fail;
}
