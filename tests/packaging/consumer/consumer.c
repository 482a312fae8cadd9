/*
 * An application outside the nodus tree, built against an installed libnodus (through
 * pkg-config and through find_package). It submits a small dependent graph and checks the
 * result:
 *
 *   fill(i):   OUT a_i                  a_i = i + 1
 *   square(i): IN a_i, OUT b_i          b_i = a_i * a_i
 *   add(i):    IN b_i, INOUT sum        sum += b_i   (a chain: the adds run in order)
 *
 * sum must be 1^2 + ... + N^2, each body must run on a core the daemon granted, and the adds
 * must have run in submission order. Prints "OK <sum>" and exits 0, or says what is wrong.
 */
#include <nodus.h>

#include <stdatomic.h>
#include <stdio.h>

#define N 64

static long a[N], b[N], sum;
static int order[N], nadds;
static atomic_int bad_core; /* set by bodies on any worker */

static void note_core(void)
{
    if (nodus_task_core() < 0) bad_core = 1;
}

static void fill(void *arg)
{
    long i = (long *)arg - a;
    note_core();
    a[i] = i + 1;
}

static void square(void *arg)
{
    long i = (long *)arg - b;
    note_core();
    b[i] = a[i] * a[i];
}

static void add(void *arg)
{
    long i = (long *)arg - b;
    note_core();
    sum += b[i];
    order[nadds++] = (int)i;
}

int main(void)
{
    nodus_t *n;
    int rc = nodus_open(&n, "consumer", NULL);
    if (rc < 0) {
        fprintf(stderr, "nodus_open: %s\n", nodus_strerror(rc));
        return 1;
    }
    for (int i = 0; i < N && rc >= 0; i++) {
        nodus_access_t fill_acc = {&a[i], sizeof a[i], NODUS_OUT};
        nodus_access_t square_acc[2] = {{&a[i], sizeof a[i], NODUS_IN},
                                        {&b[i], sizeof b[i], NODUS_OUT}};
        nodus_access_t add_acc[2] = {{&b[i], sizeof b[i], NODUS_IN},
                                     {&sum, sizeof sum, NODUS_INOUT}};
        if ((rc = nodus_submit(n, fill, &a[i], &fill_acc, 1, NULL)) >= 0 &&
            (rc = nodus_submit(n, square, &b[i], square_acc, 2, NULL)) >= 0)
            rc = nodus_submit(n, add, &b[i], add_acc, 2, NULL);
    }
    if (rc >= 0) rc = nodus_taskwait_on(n, &sum, sizeof sum);
    int close_rc = nodus_close(n);
    if (rc >= 0) rc = close_rc;
    if (rc < 0) {
        fprintf(stderr, "consumer: %s\n", nodus_strerror(rc));
        return 1;
    }

    long want = (long)N * (N + 1) * (2 * N + 1) / 6;
    int in_order = nadds == N;
    for (int i = 0; i < nadds; i++)
        in_order = in_order && order[i] == i;
    if (sum != want || !in_order || bad_core) {
        fprintf(stderr, "consumer: sum %ld (want %ld), adds %s, cores %s\n", sum, want,
                in_order ? "in order" : "OUT OF ORDER", bad_core ? "NOT GRANTED" : "granted");
        return 1;
    }
    printf("OK %ld (libnodus %s)\n", sum, nodus_version());
    return 0;
}
