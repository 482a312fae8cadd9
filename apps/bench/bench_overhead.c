/*
 * nodus-bench-overhead: cost per task through nodusd, for empty task bodies.
 *
 *   nodus-bench-overhead [--tasks N] [--pattern indep|chain] [--clients C] [--reps R]
 *
 * Each of C client processes (forked before connecting, each its own session) submits N empty
 * tasks — independent, or a chain (each INOUT on one range) — and waits for them. Reported:
 * wall time from the first submit to the last taskwait across all clients, divided by the total
 * number of tasks (ns per task, i.e. the inverse of node-wide throughput), and each client's
 * own time. The median of R repetitions is printed as one line of key=value pairs.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nodus.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void empty(void *arg)
{
    (void)arg;
}

/* One client: returns its elapsed seconds, or a negative value on error. */
static double run_client(size_t ntasks, int chain, double *t_start, double *t_end)
{
    nodus_t *n;
    int rc = nodus_open(&n, "bench-overhead", NULL);
    if (rc < 0) {
        fprintf(stderr, "bench: nodus_open: %s\n", nodus_strerror(rc));
        return -1;
    }
    static char cell;
    nodus_access_t acc = {&cell, 1, NODUS_INOUT};
    double t0 = now_s();
    for (size_t i = 0; i < ntasks && rc == 0; i++)
        rc = nodus_submit(n, empty, NULL, chain ? &acc : NULL, chain ? 1 : 0, NULL);
    if (rc == 0) rc = nodus_taskwait(n);
    double t1 = now_s();
    int crc = nodus_close(n);
    if (rc < 0 || crc < 0) {
        fprintf(stderr, "bench: %s\n", nodus_strerror(rc < 0 ? rc : crc));
        return -1;
    }
    *t_start = t0;
    *t_end = t1;
    return t1 - t0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    size_t ntasks = 100000;
    int chain = 0, clients = 1, reps = 3;
    static const struct option opts[] = {{"tasks", required_argument, 0, 'n'},
                                         {"pattern", required_argument, 0, 'p'},
                                         {"clients", required_argument, 0, 'c'},
                                         {"reps", required_argument, 0, 'r'},
                                         {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'n':
            ntasks = strtoul(optarg, NULL, 10);
            break;
        case 'p':
            chain = !strcmp(optarg, "chain");
            break;
        case 'c':
            clients = atoi(optarg);
            break;
        case 'r':
            reps = atoi(optarg);
            break;
        default:
            fprintf(stderr, "usage: nodus-bench-overhead [--tasks N] [--pattern indep|chain] "
                            "[--clients C] [--reps R]\n");
            return 2;
        }
    }
    if (clients < 1 || clients > 64 || reps < 1 || ntasks == 0) return 2;
    /* per client: start, end (shared with the children) */
    double *times = mmap(NULL, sizeof(double) * 2 * (size_t)clients, PROT_READ | PROT_WRITE,
                         MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    double *ns_per_task = calloc((size_t)reps, sizeof(double));
    double *worst_client = calloc((size_t)reps, sizeof(double));
    if (times == MAP_FAILED || !ns_per_task || !worst_client) return 1;
    for (int r = 0; r < reps; r++) {
        for (int c = 0; c < clients; c++) {
            pid_t p = fork();
            if (p == 0) {
                double s, e;
                _exit(run_client(ntasks, chain, &s, &e) < 0
                          ? 1
                          : (times[2 * c] = s, times[2 * c + 1] = e, 0));
            }
            if (p < 0) return 1;
        }
        int failed = 0, st;
        while (wait(&st) > 0)
            if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) failed = 1;
        if (failed) {
            fprintf(stderr, "bench: a client failed\n");
            return 1;
        }
        double first = times[0], last = times[1], worst = 0;
        for (int c = 0; c < clients; c++) {
            if (times[2 * c] < first) first = times[2 * c];
            if (times[2 * c + 1] > last) last = times[2 * c + 1];
            if (times[2 * c + 1] - times[2 * c] > worst) worst = times[2 * c + 1] - times[2 * c];
        }
        ns_per_task[r] = (last - first) * 1e9 / ((double)ntasks * clients);
        worst_client[r] = worst;
    }
    qsort(ns_per_task, (size_t)reps, sizeof(double), cmp_double);
    qsort(worst_client, (size_t)reps, sizeof(double), cmp_double);
    printf("pattern=%s clients=%d tasks_per_client=%zu reps=%d ns_per_task=%.0f "
           "tasks_per_s=%.0f slowest_client_s=%.3f\n",
           chain ? "chain" : "indep", clients, ntasks, reps, ns_per_task[reps / 2],
           1e9 / ns_per_task[reps / 2], worst_client[reps / 2]);
    free(ns_per_task);
    free(worst_client);
    munmap(times, sizeof(double) * 2 * (size_t)clients);
    return 0;
}
