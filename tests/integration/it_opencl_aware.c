/*
 * it_opencl aware: evidence that OpenCL tasks are task-aware and that PoCL stays on the cores
 * the daemon holds for it. One long kernel task K (about --kernel-ms of work on one work-item),
 * its CPU successor S, and --tasks short CPU tasks (--task-us each, busy). Recorded with
 * CLOCK_MONOTONIC:
 *   - K's body: start, end, the core it ran on, and when its clEnqueueNDRangeKernel returned;
 *   - the kernel's completion, from a CL_COMPLETE callback of our own on the kernel's event;
 *   - every short task: granted core, CPU it really ran on, start, end;
 *   - S: start, and the kernel event's status as S saw it.
 * Checked:
 *   1. K's body returned while the kernel was still running (body time < 1/4 of the kernel's);
 *   2. short CPU tasks ran on the core of K's body strictly inside
 *      [K's body end, kernel completion]: that core was free while the kernel was in flight;
 *   3. S started after the kernel completed, and saw its event CL_COMPLETE;
 *   4. with --device-cores: no short task ran on a device core while the kernel was in flight,
 *      and every thread of the process that is not the application's or libnodus's (PoCL's
 *      pool), sampled from inside a task while the kernel ran, has exactly the device cores as
 *      its affinity and last ran on one of them (/proc/self/task/TID/stat field 39).
 */
#include "it_opencl.h"

#include <dirent.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct cpu_rec {
    int core, ran_on;
    unsigned long long start, end;
} cpu_rec_t;

typedef struct short_task {
    cpu_rec_t *rec;
    unsigned us;
} short_task_t;

/* What the bodies and the callback record; atomics: read from other tasks' bodies. */
static struct aware {
    atomic_ullong body_start, body_end, enqueued, kernel_done, succ_start, succ_kernel_done;
    atomic_int body_core, succ_status, sampled;
    cl_event kernel_ev; /* written by K's body, read by S (ordered by the dependency) */
    cpu_set_t devcores;
    int have_devcores;
    /* thread sample */
    int foreign, confined, on_device;
    char sample_text[1024];
} aw;

static void CL_CALLBACK kernel_complete(cl_event ev, cl_int status, void *data)
{
    (void)ev;
    (void)data;
    if (status < 0) itcl_fail("the long kernel failed", status);
    atomic_store(&aw.kernel_done, itcl_now_ns());
}

static void spin_body(void *p)
{
    vec_task_t *t = p;
    atomic_store(&aw.body_start, itcl_now_ns());
    atomic_store(&aw.body_core, nodus_task_core());
    cl_event ev = NULL;
    cl_int err = itcl_enqueue(t, nodus_cl_queue(), nodus_cl_context(), &ev);
    atomic_store(&aw.enqueued, itcl_now_ns());
    if (err == CL_SUCCESS) err = clSetEventCallback(ev, CL_COMPLETE, kernel_complete, NULL);
    if (err != CL_SUCCESS) itcl_fail("long kernel enqueue", err);
    aw.kernel_ev = ev;
    atomic_store(&aw.body_end, itcl_now_ns());
}

static void succ_body(void *p)
{
    (void)p;
    atomic_store(&aw.succ_start, itcl_now_ns());
    atomic_store(&aw.succ_kernel_done, atomic_load(&aw.kernel_done));
    cl_int st = -1;
    if (!aw.kernel_ev || clGetEventInfo(aw.kernel_ev, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof st,
                                        &st, NULL) != CL_SUCCESS)
        st = -1;
    atomic_store(&aw.succ_status, st);
}

/* Field 39 (processor) of /proc/self/task/TID/stat, or -1. */
static int thread_cpu(int tid, char *comm, size_t comm_len)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t got = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[got] = '\0';
    char *open = strchr(buf, '('), *close = strrchr(buf, ')');
    if (!open || !close) return -1;
    snprintf(comm, comm_len, "%.*s", (int)(close - open - 1), open + 1);
    /* after ") " comes field 3 (state); field 39 is 36 fields further */
    char *s = close + 2;
    for (int field = 3; field < 39 && s; field++) {
        s = strchr(s, ' ');
        if (s) s++;
    }
    return s ? atoi(s) : -1;
}

/* Threads that existed before the session opened (the application's, and a sanitizer's). */
static int early_tids[64], nearly;

static void *noop_thread(void *arg)
{
    return arg;
}

void itcl_remember_early_threads(void)
{
    /* ThreadSanitizer starts its background thread with the process's first pthread_create:
     * have that happen now, so that thread counts as an early one */
    pthread_t t;
    if (pthread_create(&t, NULL, noop_thread, NULL) == 0) pthread_join(t, NULL);
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    while (d && (e = readdir(d)) && nearly < 64)
        if (atoi(e->d_name) > 0) early_tids[nearly++] = atoi(e->d_name);
    if (d) closedir(d);
}

static bool early(int tid)
{
    for (int i = 0; i < nearly; i++)
        if (early_tids[i] == tid) return true;
    return false;
}

/* Samples every thread of the process (once, from a task body while the kernel runs). */
static void sample_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d) return;
    struct dirent *e;
    size_t off = 0;
    while ((e = readdir(d))) {
        int tid = atoi(e->d_name);
        if (tid <= 0) continue;
        char comm[64] = "";
        int cpu = thread_cpu(tid, comm, sizeof comm);
        if (early(tid) || strncmp(comm, "nodus-", 6) == 0) continue; /* ours */
        cpu_set_t aff;
        if (sched_getaffinity(tid, sizeof aff, &aff) < 0) continue;
        aw.foreign++;
        bool confined = aw.have_devcores && CPU_EQUAL(&aff, &aw.devcores);
        bool on_dev = aw.have_devcores && cpu >= 0 && CPU_ISSET(cpu, &aw.devcores);
        aw.confined += confined;
        aw.on_device += on_dev;
        char cores[128] = "";
        size_t co = 0;
        for (int c = 0; c < CPU_SETSIZE && co < sizeof cores - 8; c++)
            if (CPU_ISSET(c, &aff))
                co += (size_t)snprintf(cores + co, sizeof cores - co, "%s%d", co ? "," : "", c);
        if (off < sizeof aw.sample_text - 100)
            off += (size_t)snprintf(aw.sample_text + off, sizeof aw.sample_text - off,
                                    "%s%d(%s) affinity {%s} last cpu %d", off ? "; " : "", tid,
                                    comm, cores, cpu);
    }
    closedir(d);
}

static void short_body(void *p)
{
    short_task_t *s = p;
    cpu_rec_t *r = s->rec;
    r->start = itcl_now_ns();
    r->core = nodus_task_core();
    r->ran_on = sched_getcpu();
    if (atomic_load(&aw.enqueued) && !atomic_load(&aw.kernel_done) &&
        !atomic_exchange(&aw.sampled, 1))
        sample_threads();
    while (itcl_now_ns() - r->start < s->us * 1000ull)
        ;
    r->end = itcl_now_ns();
}

/* Iterations of the spin kernel (one work-item) that take about `ms` on the device. */
static cl_uint calibrate(nodus_t *n, double ms)
{
    cl_context ctx;
    cl_device_id dev;
    if (nodus_cl_device_context(n, itcl_device, &ctx, &dev) < 0) return 0;
    cl_int err;
    cl_command_queue q = clCreateCommandQueue(ctx, dev, 0, &err);
    if (!q) return 0;
    cl_uint in = 1, out = 0, iters = 1u << 20;
    double took = 0;
    /* PoCL compiles a kernel for its launch size on the first enqueue: keep that out */
    vec_task_t warm = {.op = OP_SPIN, .in0 = &in, .out = &out, .n = 1, .a = 1};
    if (itcl_enqueue(&warm, q, ctx, NULL) != CL_SUCCESS || clFinish(q) != CL_SUCCESS) return 0;
    for (int round = 0; round < 8; round++) {
        vec_task_t t = {.op = OP_SPIN, .in0 = &in, .out = &out, .n = 1, .a = iters};
        unsigned long long t0 = itcl_now_ns();
        if (itcl_enqueue(&t, q, ctx, NULL) != CL_SUCCESS || clFinish(q) != CL_SUCCESS) break;
        took = (double)(itcl_now_ns() - t0) / 1e6;
        if (took > 20 || iters > (1u << 30)) break;
        iters *= 4;
    }
    clReleaseCommandQueue(q);
    if (took <= 0) return 0;
    double want = (double)iters * ms / took;
    return want > 4e9 ? 4000000000u : (cl_uint)want;
}

static int parse_cores(const char *list, cpu_set_t *set)
{
    CPU_ZERO(set);
    char *copy = strdup(list), *save, *tok;
    int count = 0;
    for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int lo = atoi(tok), hi = lo;
        char *dash = strchr(tok, '-');
        if (dash) hi = atoi(dash + 1);
        for (int c = lo; c <= hi && c < CPU_SETSIZE; c++, count++)
            CPU_SET(c, set);
    }
    free(copy);
    return count;
}

int itcl_run_aware(nodus_t *n, nodus_task_attr_t *attr, int argc, char **argv)
{
    double kernel_ms = 200;
    size_t ntasks = 150;
    unsigned task_us = 2000;
    static const struct option opts[] = {{"kernel-ms", required_argument, 0, 'k'},
                                         {"tasks", required_argument, 0, 'n'},
                                         {"task-us", required_argument, 0, 'u'},
                                         {"device-cores", required_argument, 0, 'd'},
                                         {0, 0, 0, 0}};
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'k':
            kernel_ms = atof(optarg);
            break;
        case 'n':
            ntasks = strtoul(optarg, NULL, 10);
            break;
        case 'u':
            task_us = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'd':
            aw.have_devcores = parse_cores(optarg, &aw.devcores) > 0;
            break;
        default:
            return 2;
        }
    }
    cl_uint iters = calibrate(n, kernel_ms);
    if (!iters) {
        fprintf(stderr, "it_opencl: cannot calibrate the long kernel\n");
        return 1;
    }
    cl_uint kin = 12345, kout = 0;
    vec_task_t k = {.op = OP_SPIN, .in0 = &kin, .out = &kout, .n = 1, .a = iters};
    cpu_rec_t *rec = calloc(ntasks, sizeof *rec);
    short_task_t *st = calloc(ntasks, sizeof *st);
    /* K first, with priority: the short tasks are independent and could otherwise go first */
    nodus_task_attr_t *first, *urgent;
    if (nodus_task_attr_create(&first) < 0 || nodus_task_attr_set_priority(first, 10) < 0 ||
        nodus_task_attr_set_label(first, "it_opencl.spin") < 0 ||
        nodus_task_attr_set_impl(first, NODUS_DEV_OPENCL, spin_body) < 0 ||
        nodus_task_attr_create(&urgent) < 0 || nodus_task_attr_set_priority(urgent, 10) < 0)
        return 1;
    (void)attr;
    nodus_access_t kacc[] = {{&kin, sizeof kin, NODUS_IN}, {&kout, sizeof kout, NODUS_OUT}};
    nodus_access_t sacc[] = {{&kout, sizeof kout, NODUS_IN}};
    int rc = nodus_submit(n, NULL, &k, kacc, 2, first);
    if (rc == 0) rc = nodus_submit(n, succ_body, NULL, sacc, 1, urgent); /* before short ones */
    for (size_t i = 0; i < ntasks && rc == 0; i++) {
        st[i] = (short_task_t){&rec[i], task_us};
        rc = nodus_submit(n, short_body, &st[i], NULL, 0, NULL);
    }
    if (rc == 0) rc = nodus_taskwait(n);
    if (rc < 0) {
        fprintf(stderr, "it_opencl: aware: %s\n", nodus_strerror(rc));
        return 1;
    }
    nodus_task_attr_destroy(first);
    nodus_task_attr_destroy(urgent);
    if (aw.kernel_ev) clReleaseEvent(aw.kernel_ev);

    unsigned long long enq = atomic_load(&aw.enqueued), done = atomic_load(&aw.kernel_done),
                       bstart = atomic_load(&aw.body_start), bend = atomic_load(&aw.body_end),
                       sstart = atomic_load(&aw.succ_start);
    int bcore = atomic_load(&aw.body_core);
    if (kout != itcl_lcg(kin, iters)) itcl_fail("long kernel result", 0);
    if (!enq || !done || !sstart) {
        itcl_fail("a timestamp is missing", 0);
        return 1;
    }
    double kernel = (double)(done - enq) / 1e6, body = (double)(bend - bstart) / 1e6;
    size_t inside = 0, on_dev = 0, overlapping = 0;
    unsigned long long first_inside = 0;
    for (size_t i = 0; i < ntasks; i++) {
        const cpu_rec_t *r = &rec[i];
        if (r->core != r->ran_on) itcl_fail("a short task ran off its granted core", r->ran_on);
        if (r->core == bcore && r->start >= bend && r->end <= done) {
            inside++;
            if (!first_inside || r->start < first_inside) first_inside = r->start;
        }
        if (r->end > enq && r->start < done) {
            overlapping++;
            if (aw.have_devcores &&
                (CPU_ISSET(r->core, &aw.devcores) || CPU_ISSET(r->ran_on, &aw.devcores)))
                on_dev++;
        }
    }
    printf("aware: kernel in flight %.1f ms (enqueued to completion); K's body ran on cpu %d for "
           "%.2f ms\n",
           kernel, bcore, body);
    printf("aware: %zu short CPU tasks ran on cpu %d strictly inside [body end, kernel "
           "completion]; the first started %.2f ms after the body returned\n",
           inside, bcore, first_inside ? (double)(first_inside - bend) / 1e6 : -1.0);
    printf("aware: successor started %.3f ms after the kernel completed (event status %d, "
           "CL_COMPLETE is %d)\n",
           ((double)sstart - (double)done) / 1e6, atomic_load(&aw.succ_status), CL_COMPLETE);
    if (kernel < kernel_ms / 4) itcl_fail("the long kernel was too short to prove anything", 0);
    if (body * 4 > kernel) itcl_fail("K's body did not return while its kernel ran", 0);
    if (inside == 0) itcl_fail("no CPU task used K's core while the kernel was in flight", bcore);
    if (sstart < done || atomic_load(&aw.succ_status) != CL_COMPLETE)
        itcl_fail("the successor started before the kernel completed", 0);
    if (aw.have_devcores) {
        printf("aware: %zu short tasks overlapped the kernel, %zu of them on a device core\n",
               overlapping, on_dev);
        printf("aware: threads other than the application's and libnodus's, sampled while the "
               "kernel ran: %d, %d with exactly the device cores as affinity, %d last ran on a "
               "device core: %s\n",
               aw.foreign, aw.confined, aw.on_device, aw.sample_text);
        if (on_dev) itcl_fail("a CPU task ran on a device core while the kernel was in flight", 0);
        if (!atomic_load(&aw.sampled))
            itcl_fail("no task sampled the threads", 0);
        else if (aw.foreign == 0)
            itcl_fail("no PoCL thread found", 0);
        else if (aw.confined != aw.foreign || aw.on_device != aw.foreign)
            itcl_fail("a PoCL thread is not confined to the device cores", 0);
    }
    free(rec);
    free(st);
    return 0;
}
