/*
 * nodus-example-blocked: a tiled matrix-vector product, iterated.
 *
 *     repeat ITERS times:   y = A * x;   x = y / n
 *
 * A is n x n, stored tile by tile (each BS x BS tile contiguous), x and y are split into blocks
 * of BS entries. Each step becomes tasks that declare what they read and write:
 *
 *     zero(i):     OUT y_i
 *     gemv(i, j):  IN A_ij, IN x_j, INOUT y_i      (y_i += A_ij * x_j)
 *     scale(i):    IN y_i,  OUT x_i                (x_i = y_i / n)
 *
 * The daemon derives the graph from these accesses: the gemv tasks of one row run in order (they
 * share y_i), different rows run in parallel, and an iteration's gemv(i, j) waits only for the
 * scale(j) it reads. The result is checked against a sequential run, bit for bit.
 *
 * Usage: nodus-example-blocked [n [iterations]]   (n a multiple of 256; default 2048 4)
 */
#include <nodus.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BS 256 /* block size */

struct tile {        /* arguments of gemv(i, j) */
    const double *a; /* A_ij, BS x BS */
    const double *x; /* x_j */
    double *y;       /* y_i */
};

struct block { /* arguments of zero(i) and scale(i) */
    double *x, *y;
    double s;
};

static void zero(void *arg)
{
    struct block *b = arg;
    memset(b->y, 0, BS * sizeof(double));
}

static void gemv(void *arg)
{
    struct tile *t = arg;
    for (int r = 0; r < BS; r++) {
        double sum = t->y[r];
        for (int c = 0; c < BS; c++)
            sum += t->a[r * BS + c] * t->x[c];
        t->y[r] = sum;
    }
}

static void scale(void *arg)
{
    struct block *b = arg;
    for (int r = 0; r < BS; r++)
        b->x[r] = b->y[r] * b->s;
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The sequential reference: the same kernels in program order, in one task body. */
struct reference {
    int nb, iters;
    struct tile *tiles;
    struct block *blocks;
    double seconds; /* out */
};

static void reference(void *arg)
{
    struct reference *r = arg;
    double t0 = seconds();
    for (int it = 0; it < r->iters; it++) {
        for (int i = 0; i < r->nb; i++) {
            zero(&r->blocks[i]);
            for (int j = 0; j < r->nb; j++)
                gemv(&r->tiles[i * r->nb + j]);
        }
        for (int i = 0; i < r->nb; i++)
            scale(&r->blocks[i]);
    }
    r->seconds = seconds() - t0;
}

#define CHECK(call)                                                                                \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        if (rc_ < 0) {                                                                             \
            fprintf(stderr, "%s: %s\n", #call, nodus_strerror(rc_));                               \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

/* Points the task arguments at A, x and y. */
static void setup(int nb, const double *A, double *x, double *y, struct tile *tiles,
                  struct block *blocks)
{
    for (int i = 0; i < nb; i++) {
        blocks[i] = (struct block){x + i * BS, y + i * BS, 1.0 / (nb * BS)};
        for (int j = 0; j < nb; j++)
            tiles[i * nb + j] =
                (struct tile){A + ((size_t)i * nb + j) * BS * BS, x + j * BS, y + i * BS};
    }
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2048;
    int iters = argc > 2 ? atoi(argv[2]) : 4;
    if (n <= 0 || n % BS || iters <= 0) {
        fprintf(stderr, "usage: %s [n (multiple of %d) [iterations]]\n", argv[0], BS);
        return 2;
    }
    int nb = n / BS;
    double *A = malloc((size_t)n * n * sizeof *A);
    double *x = malloc(2 * n * sizeof *x), *y = malloc(2 * n * sizeof *y);
    struct tile *tiles = malloc(2 * (size_t)nb * nb * sizeof *tiles);
    struct block *blocks = malloc(2 * nb * sizeof *blocks);
    if (!A || !x || !y || !tiles || !blocks) return 1;
    for (int i = 0; i < nb; i++) /* tile (i, j) holds rows i*BS.. and columns j*BS.. */
        for (int j = 0; j < nb; j++)
            for (int r = 0; r < BS; r++)
                for (int c = 0; c < BS; c++)
                    A[((size_t)i * nb + j) * BS * BS + r * BS + c] =
                        1.0 / (1 + abs(i * BS + r - (j * BS + c)));
    for (int k = 0; k < 2 * n; k++)
        x[k] = 1.0 + k % n % 7;
    /* the second half of x, y, tiles and blocks is the sequential reference's */
    double *x_ref = x + n;
    setup(nb, A, x, y, tiles, blocks);
    setup(nb, A, x_ref, y + n, tiles + nb * nb, blocks + nb);

    nodus_t *nd;
    CHECK(nodus_open(&nd, "example-blocked", NULL)); /* NULL: find (or start) the daemon */
    nodus_task_attr_t *attr;
    CHECK(nodus_task_attr_create(&attr));
    CHECK(nodus_task_attr_set_label(attr, "gemv"));

    /* The reference runs too as a (single, long) task: all of this program's CPU work goes
     * through the daemon, so it shares the node fairly with other jobs. */
    struct reference ref = {nb, iters, tiles + nb * nb, blocks + nb, 0.0};
    nodus_access_t ref_acc[3] = {{A, (size_t)n * n * sizeof *A, NODUS_IN},
                                 {x_ref, n * sizeof *x, NODUS_INOUT},
                                 {y + n, n * sizeof *y, NODUS_OUT}};
    CHECK(nodus_submit(nd, reference, &ref, ref_acc, 3, NULL));
    CHECK(nodus_taskwait(nd));

    const size_t vbytes = BS * sizeof(double), tbytes = (size_t)BS * BS * sizeof(double);
    double t0 = seconds();
    for (int it = 0; it < iters; it++) { /* the reference's loop, as tasks */
        for (int i = 0; i < nb; i++) {
            nodus_access_t out_y = {blocks[i].y, vbytes, NODUS_OUT};
            CHECK(nodus_submit(nd, zero, &blocks[i], &out_y, 1, NULL));
            for (int j = 0; j < nb; j++) {
                struct tile *t = &tiles[i * nb + j];
                nodus_access_t acc[3] = {{t->a, tbytes, NODUS_IN},
                                         {t->x, vbytes, NODUS_IN},
                                         {t->y, vbytes, NODUS_INOUT}};
                CHECK(nodus_submit(nd, gemv, t, acc, 3, attr));
            }
        }
        for (int i = 0; i < nb; i++) {
            nodus_access_t acc[2] = {{blocks[i].y, vbytes, NODUS_IN},
                                     {blocks[i].x, vbytes, NODUS_OUT}};
            CHECK(nodus_submit(nd, scale, &blocks[i], acc, 2, NULL));
        }
    }
    CHECK(nodus_taskwait(nd));
    double t_nodus = seconds() - t0;
    int ncores = nodus_num_cores(nd);
    nodus_task_attr_destroy(attr);
    CHECK(nodus_close(nd));

    int ok = memcmp(x, x_ref, n * sizeof *x) == 0;
    printf("%s: n=%d, %d iterations, %d tasks on %d cores: %.3f s (sequential %.3f s)\n",
           ok ? "OK" : "MISMATCH", n, iters, iters * nb * (nb + 2), ncores, t_nodus, ref.seconds);
    free(A), free(x), free(y), free(tiles), free(blocks);
    return ok ? 0 : 1;
}
