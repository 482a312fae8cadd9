/*
 * The OpenCL backend (see ocl.h).
 *
 * Process-wide: the ICD loader (libOpenCL.so.1, dlopen'ed, never closed) and its platform list,
 * started once. When the daemon owns a CPU OpenCL device (PoCL), the start is the process's first
 * OpenCL call and runs pinned to the device's cores with every signal blocked (see
 * first_call_run()): PoCL creates its pool threads during that call, and they inherit exactly
 * that affinity and mask, so kernels stay on the cores the daemon holds for the device. PoCL
 * reads POCL_MAX_PTHREAD_COUNT at that moment too, which ocl_session_open() set before any thread
 * of the session existed.
 *
 * Per session: for each OpenCL device of the daemon, one context and `slots` in-order queues,
 * created on first use (nodus_cl_device_context() or the first grant on the device) under the
 * session's backend lock; a ready device is then read without the lock (state is published with
 * release/acquire).
 *
 * Completion: after a body returns, its worker enqueues a marker on the task's queue, flushes,
 * reports the Done, and only then registers the marker's CL_COMPLETE callback. The callback (an
 * OpenCL runtime thread, or the worker itself if the marker already completed) queues the
 * DeviceDone, so the comm thread, which takes both queues in one critical section, always sends
 * the Done first. A marker that cannot be enqueued, or a callback that reports an abnormal
 * termination, breaks the session with NODUS_EIO (printed with $NODUS_DEBUG); the DeviceDone
 * is still sent at once, so the daemon frees what it holds for the task.
 */
#include "ocl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "done.h"
#include "internal.h"
#include "worker.h"

#if NODUS_HAVE_OPENCL

#include <nodus/opencl.h>

/* The loader's entry points libnodus uses (types checked against <CL/cl.h>). */
typedef struct ocl_api {
    __typeof__(&clGetPlatformIDs) GetPlatformIDs;
    __typeof__(&clGetPlatformInfo) GetPlatformInfo;
    __typeof__(&clGetDeviceIDs) GetDeviceIDs;
    __typeof__(&clCreateContext) CreateContext;
    __typeof__(&clReleaseContext) ReleaseContext;
    __typeof__(&clCreateCommandQueue) CreateCommandQueue;
    __typeof__(&clReleaseCommandQueue) ReleaseCommandQueue;
    __typeof__(&clEnqueueMarkerWithWaitList) EnqueueMarkerWithWaitList;
    __typeof__(&clFlush) Flush;
    __typeof__(&clFinish) Finish;
    __typeof__(&clSetEventCallback) SetEventCallback;
    __typeof__(&clReleaseEvent) ReleaseEvent;
} ocl_api_t;

/* Process-wide runtime state; `lock` guards all of it until `ready` is published. */
static struct ocl_runtime {
    pthread_mutex_t lock;
    int state; /* 0: not started; 1: started; < 0: NODUS_ENOTSUP (no usable runtime) */
    ocl_api_t api;
    cl_platform_id *platforms; /* owned, never freed (the process keeps the runtime) */
    cl_uint nplatforms;
} rt = {.lock = PTHREAD_MUTEX_INITIALIZER};
static atomic_int rt_ready; /* 1 once rt.api and rt.platforms may be read without the lock */

/* One daemon device in one session. */
typedef struct ocl_dev {
    atomic_int state; /* 0: not set up; 1: ready; < 0: the error every use returns */
    cl_device_id id;
    cl_context context;
    cl_command_queue *queues; /* slots entries; owned */
    uint32_t nqueues;
} ocl_dev_t;

struct ocl_session {
    pthread_mutex_t lock;    /* device set-up (held across OpenCL calls) */
    pthread_mutex_t cb_lock; /* `callbacks` (never held across an OpenCL call: a callback that
                              * waited on a lock held around clCreateContext could stall it) */
    pthread_cond_t idle_cv;
    unsigned callbacks; /* marker callbacks registered and not yet finished */
    ocl_dev_t *devs;    /* n->ndevices entries, by daemon index (non-OpenCL ones unused) */
};

/* What a marker callback needs; one per OpenCL task, freed by the callback. */
typedef struct ocl_marker {
    nodus_t *n;
    uint64_t id;
    uint8_t run; /* the grant's run: a completion of a run given up as lost is ignored */
} ocl_marker_t;

/* ---- process-wide start ---- */

static void *resolve(void *lib, const char *name, int *missing)
{
    void *p = dlsym(lib, name);
    if (!p) *missing = 1;
    return p;
}

static int api_load(ocl_api_t *a)
{
    void *lib = dlopen("libOpenCL.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) lib = dlopen("libOpenCL.so", RTLD_NOW | RTLD_LOCAL);
    if (!lib) return NODUS_ENOTSUP;
    int missing = 0;
#define OCL_RESOLVE(f) a->f = (__typeof__(a->f))resolve(lib, "cl" #f, &missing)
    OCL_RESOLVE(GetPlatformIDs);
    OCL_RESOLVE(GetPlatformInfo);
    OCL_RESOLVE(GetDeviceIDs);
    OCL_RESOLVE(CreateContext);
    OCL_RESOLVE(ReleaseContext);
    OCL_RESOLVE(CreateCommandQueue);
    OCL_RESOLVE(ReleaseCommandQueue);
    OCL_RESOLVE(EnqueueMarkerWithWaitList);
    OCL_RESOLVE(Flush);
    OCL_RESOLVE(Finish);
    OCL_RESOLVE(SetEventCallback);
    OCL_RESOLVE(ReleaseEvent);
#undef OCL_RESOLVE
    if (missing) {
        dlclose(lib);
        return NODUS_ENOTSUP; /* an OpenCL 1.1 loader: no clEnqueueMarkerWithWaitList */
    }
    return 0; /* the library stays loaded for the life of the process */
}

/* The context and queues of one device; `rt` must be started. */
typedef struct dev_setup {
    const device_t *info; /* the daemon's description */
    int rc;
    cl_device_id id;
    cl_context context;
    cl_command_queue *queues; /* info->slots entries */
} dev_setup_t;

/* Finds the daemon's device among this process's: same platform name, same index within it. */
static int dev_match(const device_t *info, cl_device_id *out)
{
    for (cl_uint p = 0; p < rt.nplatforms; p++) {
        char name[256] = "";
        if (rt.api.GetPlatformInfo(rt.platforms[p], CL_PLATFORM_NAME, sizeof name - 1, name,
                                   NULL) != CL_SUCCESS ||
            strcmp(name, info->platform) != 0)
            continue;
        cl_uint count = 0;
        if (rt.api.GetDeviceIDs(rt.platforms[p], CL_DEVICE_TYPE_ALL, 0, NULL, &count) !=
                CL_SUCCESS ||
            info->platform_device >= count)
            return NODUS_ENOTSUP;
        cl_device_id *ids = malloc(count * sizeof *ids);
        if (!ids) return NODUS_ENOMEM;
        int rc =
            rt.api.GetDeviceIDs(rt.platforms[p], CL_DEVICE_TYPE_ALL, count, ids, NULL) == CL_SUCCESS
                ? 0
                : NODUS_ENOTSUP;
        if (rc == 0) *out = ids[info->platform_device];
        free(ids);
        return rc;
    }
    return NODUS_ENOTSUP;
}

static void dev_setup_run(dev_setup_t *s)
{
    s->rc = dev_match(s->info, &s->id);
    if (s->rc < 0) return;
    cl_int err = CL_SUCCESS;
    s->context = rt.api.CreateContext(NULL, 1, &s->id, NULL, NULL, &err);
    if (!s->context || err != CL_SUCCESS) {
        s->context = NULL;
        s->rc = NODUS_EIO;
        return;
    }
    s->queues = calloc(s->info->slots, sizeof *s->queues);
    if (!s->queues) {
        s->rc = NODUS_ENOMEM;
        return;
    }
    for (uint32_t q = 0; q < s->info->slots; q++) {
        /* in-order, no profiling: the marker of a task then follows all of its commands */
        s->queues[q] = rt.api.CreateCommandQueue(s->context, s->id, 0, &err);
        if (!s->queues[q] || err != CL_SUCCESS) {
            s->queues[q] = NULL;
            s->rc = NODUS_EIO;
            return;
        }
    }
}

static void dev_setup_undo(dev_setup_t *s)
{
    for (uint32_t q = 0; s->queues && q < s->info->slots; q++)
        if (s->queues[q]) rt.api.ReleaseCommandQueue(s->queues[q]);
    free(s->queues);
    if (s->context) rt.api.ReleaseContext(s->context);
    s->queues = NULL;
    s->context = NULL;
}

/* The first OpenCL call of the process: the platform list, the CPU device's initialisation, and
 * one device's context. */
typedef struct first_call {
    const device_t *cpu; /* the CPU OpenCL device whose pool must start now, or NULL */
    dev_setup_t *setup;  /* a device to set up in the same call, or NULL */
    int rc;
} first_call_t;

static void first_call_main(first_call_t *fc)
{
    cl_uint count = 0;
    if (rt.api.GetPlatformIDs(0, NULL, &count) != CL_SUCCESS || count == 0) {
        fc->rc = NODUS_ENOTSUP;
        return;
    }
    rt.platforms = calloc(count, sizeof *rt.platforms);
    if (!rt.platforms) {
        fc->rc = NODUS_ENOMEM;
        return;
    }
    if (rt.api.GetPlatformIDs(count, rt.platforms, NULL) != CL_SUCCESS) {
        fc->rc = NODUS_ENOTSUP;
        return;
    }
    rt.nplatforms = count;
    fc->rc = 0;
    cl_device_id id;
    if (fc->cpu) (void)dev_match(fc->cpu, &id); /* PoCL starts the device, and its pool, here */
    if (fc->setup) dev_setup_run(fc->setup);
}

/* Largest CPU set the calling thread's affinity is read into (pthread_getaffinity_np fails
 * with a set smaller than the kernel's). */
#define AFFINITY_CPUS 8192

/*
 * Runs first_call_main with the calling thread pinned to `info`'s cores and every signal
 * blocked, then restores both. PoCL creates its pool when it initialises the device (in
 * clGetDeviceIDs), and its threads inherit the creator's affinity and mask. A short-lived thread
 * would do as well, but LLVM (inside PoCL) gives the initialising thread an alternate signal
 * stack of its own, and AddressSanitizer then aborts when that thread exits; borrowing the
 * caller for the few milliseconds of the call avoids it. With no cores (no CPU device), or if
 * pinning fails (the cores are outside this process's affinity), the call runs unpinned.
 */
static void first_call_run(first_call_t *fc, const device_t *info)
{
    cpu_set_t *set = NULL, *saved = NULL;
    size_t size = 0, saved_size = CPU_ALLOC_SIZE(AFFINITY_CPUS);
    bool pinned = false;
    if (info && info->ncores) {
        uint32_t max = 0;
        for (size_t i = 0; i < info->ncores; i++)
            if (info->cores[i] > max) max = info->cores[i];
        set = CPU_ALLOC(max + 1);
        size = CPU_ALLOC_SIZE(max + 1);
        saved = CPU_ALLOC(AFFINITY_CPUS);
        if (set && saved && pthread_getaffinity_np(pthread_self(), saved_size, saved) == 0) {
            CPU_ZERO_S(size, set);
            for (size_t i = 0; i < info->ncores; i++)
                CPU_SET_S(info->cores[i], size, set);
            pinned = pthread_setaffinity_np(pthread_self(), size, set) == 0;
        }
    }
    sigset_t all, old;
    sigfillset(&all);
    if (pinned) pthread_sigmask(SIG_SETMASK, &all, &old);
    first_call_main(fc);
    if (pinned) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        pthread_setaffinity_np(pthread_self(), saved_size, saved);
    }
    if (set) CPU_FREE(set);
    if (saved) CPU_FREE(saved);
}

/* The first CPU OpenCL device of the session, or -1. */
static int cpu_device_index(const nodus_t *n)
{
    for (size_t i = 0; i < n->ndevices; i++)
        if (n->devices[i].kind == NODUS_DEV_OPENCL && n->devices[i].cpu_device) return (int)i;
    return -1;
}

/*
 * Starts the runtime if needed. When it starts now and `setup` is given, that device is set up
 * in the same (pinned) first call, and *setup_done says so. Under the session's backend lock.
 */
static int runtime_start(nodus_t *n, dev_setup_t *setup, bool *setup_done)
{
    *setup_done = false;
    pthread_mutex_lock(&rt.lock);
    int rc = rt.state;
    if (rt.state == 0) {
        rc = api_load(&rt.api);
        if (rc == 0) {
            int cpu = cpu_device_index(n);
            first_call_t fc = {.cpu = cpu >= 0 ? &n->devices[cpu] : NULL, .setup = NULL, .rc = 0};
            /* the CPU device's context is created in the pinned call too */
            if (setup && cpu >= 0 && setup->info == &n->devices[cpu]) fc.setup = setup;
            first_call_run(&fc, fc.cpu);
            rc = fc.rc;
            *setup_done = fc.setup != NULL && rc == 0;
        }
        rt.state = rc == 0 ? 1 : (rc == NODUS_ENOMEM ? 0 : rc);
        if (rc == 0) atomic_store_explicit(&rt_ready, 1, memory_order_release);
    } else if (rt.state > 0) {
        rc = 0;
    }
    pthread_mutex_unlock(&rt.lock);
    return rc;
}

/* ---- per-session devices ---- */

/* Sets device `index` up on first use; returns 0 or the device's sticky error. Any thread. */
static int dev_ready(nodus_t *n, int index)
{
    struct ocl_session *s = n->ocl;
    ocl_dev_t *d = &s->devs[index];
    int state = atomic_load_explicit(&d->state, memory_order_acquire);
    if (state != 0) return state > 0 ? 0 : state;

    pthread_mutex_lock(&s->lock);
    state = atomic_load_explicit(&d->state, memory_order_relaxed);
    if (state == 0) {
        dev_setup_t setup = {.info = &n->devices[index]};
        bool done;
        int rc = runtime_start(n, &setup, &done);
        if (rc == 0 && !done) dev_setup_run(&setup);
        if (rc == 0) rc = setup.rc;
        if (rc == 0) {
            d->id = setup.id;
            d->context = setup.context;
            d->queues = setup.queues;
            d->nqueues = setup.info->slots;
            state = 1;
        } else {
            if (atomic_load_explicit(&rt_ready, memory_order_acquire)) dev_setup_undo(&setup);
            device_debug(n, "opencl", "cannot set up the device", rc);
            state = rc == NODUS_ENOMEM ? 0 : rc; /* out of memory: try again next time */
        }
        if (state != 0)
            atomic_store_explicit(&d->state, state, memory_order_release);
        else
            state = rc;
    }
    pthread_mutex_unlock(&s->lock);
    return state > 0 ? 0 : state;
}

int ocl_session_open(nodus_t *n)
{
    struct ocl_session *s = calloc(1, sizeof *s);
    if (!s) return NODUS_ENOMEM;
    s->devs = calloc(n->ndevices ? n->ndevices : 1, sizeof *s->devs);
    if (!s->devs) {
        free(s);
        return NODUS_ENOMEM;
    }
    for (size_t i = 0; i < n->ndevices; i++)
        atomic_init(&s->devs[i].state, 0);
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->cb_lock, NULL);
    pthread_cond_init(&s->idle_cv, NULL);
    n->ocl = s;

    int cpu = cpu_device_index(n);
    if (cpu < 0) return 0;
    pthread_mutex_lock(&rt.lock);
    bool started = rt.state != 0;
    pthread_mutex_unlock(&rt.lock);
    if (started) return 0; /* PoCL already runs with the thread count it read then */
    const device_t *d = &n->devices[cpu];
    if (d->ncores) {
        char count[24];
        snprintf(count, sizeof count, "%zu", d->ncores);
        setenv("POCL_MAX_PTHREAD_COUNT", count, 0); /* 0: the user's own setting wins */
    }
    /* a process that links OpenCL will make its own calls, perhaps before it asks us for a
     * context: make the first call now, pinned. Otherwise wait until a task or the application
     * needs OpenCL (CPU-only programs never start PoCL). */
    void *loaded = dlopen("libOpenCL.so.1", RTLD_NOW | RTLD_NOLOAD);
    if (loaded) {
        dlclose(loaded);
        (void)dev_ready(n, cpu); /* failures are reported when the device is used */
    }
    return 0;
}

void ocl_session_close(nodus_t *n)
{
    struct ocl_session *s = n->ocl;
    if (!s) return;
    bool have_rt = atomic_load_explicit(&rt_ready, memory_order_acquire);
    for (size_t i = 0; have_rt && i < n->ndevices; i++) {
        ocl_dev_t *d = &s->devs[i];
        if (atomic_load_explicit(&d->state, memory_order_acquire) <= 0) continue;
        /* a broken session may leave work queued: let it finish so its callbacks come */
        for (uint32_t q = 0; q < d->nqueues; q++)
            rt.api.Finish(d->queues[q]);
    }
    pthread_mutex_lock(&s->cb_lock);
    while (s->callbacks > 0)
        pthread_cond_wait(&s->idle_cv, &s->cb_lock);
    pthread_mutex_unlock(&s->cb_lock);
    for (size_t i = 0; have_rt && i < n->ndevices; i++) {
        ocl_dev_t *d = &s->devs[i];
        if (atomic_load_explicit(&d->state, memory_order_acquire) <= 0) continue;
        for (uint32_t q = 0; q < d->nqueues; q++)
            rt.api.ReleaseCommandQueue(d->queues[q]);
        free(d->queues);
        rt.api.ReleaseContext(d->context); /* the application's objects keep it alive */
    }
    pthread_cond_destroy(&s->idle_cv);
    pthread_mutex_destroy(&s->cb_lock);
    pthread_mutex_destroy(&s->lock);
    free(s->devs);
    free(s);
    n->ocl = NULL;
}

/* ---- running a body ---- */

static void callback_finished(struct ocl_session *s)
{
    pthread_mutex_lock(&s->cb_lock);
    if (--s->callbacks == 0) pthread_cond_broadcast(&s->idle_cv);
    pthread_mutex_unlock(&s->cb_lock);
}

static void CL_CALLBACK marker_complete(cl_event marker, cl_int status, void *data)
{
    ocl_marker_t *m = data;
    nodus_t *n = m->n;
    uint64_t id = m->id;
    uint8_t run = m->run;
    free(m);
    if (!done_run_current(n, id, run)) {
        /* the daemon restarted, the work was not confirmed in time, and the task (idempotent)
         * was resubmitted: this run no longer counts */
        rt.api.ReleaseEvent(marker);
        callback_finished(n->ocl);
        return;
    }
    if (status < 0) {
        /* a command of the task failed: its results cannot be trusted */
        device_debug(n, "opencl", "device work of a task terminated abnormally", status);
        session_fail(n, NODUS_EIO);
    }
    rt.api.ReleaseEvent(marker);
    done_push_device(n, id);
    callback_finished(n->ocl); /* last touch of the session: close may free it after this */
}

/* After the body: marker, flush, Done, then the callback that sends the DeviceDone. */
static void after_body(nodus_t *n, uint64_t id, uint8_t run, cl_command_queue queue)
{
    struct ocl_session *s = n->ocl;
    cl_event marker = NULL;
    cl_int err = rt.api.EnqueueMarkerWithWaitList(queue, 0, NULL, &marker);
    if (err == CL_SUCCESS) err = rt.api.Flush(queue);
    ocl_marker_t *m = err == CL_SUCCESS ? malloc(sizeof *m) : NULL;
    if (m) {
        *m = (ocl_marker_t){.n = n, .id = id, .run = run};
        pthread_mutex_lock(&s->cb_lock);
        s->callbacks++;
        pthread_mutex_unlock(&s->cb_lock);
    }
    done_push(n, id); /* before the callback can exist: DeviceDone never overtakes it */
    if (m) {
        err = rt.api.SetEventCallback(marker, CL_COMPLETE, marker_complete, m);
        if (err == CL_SUCCESS) return; /* the callback owns marker and m now */
        free(m);
        callback_finished(s);
    }
    if (marker) rt.api.ReleaseEvent(marker);
    device_debug(n, "opencl",
                 err == CL_SUCCESS ? "out of memory for a marker"
                                   : "cannot enqueue the completion marker",
                 err);
    session_fail(n, err == CL_SUCCESS ? NODUS_ENOMEM : NODUS_EIO);
    done_push_device(n, id); /* completion cannot be tracked: release the task now */
}

void ocl_run(nodus_t *n, const grant_item_t *item)
{
    int rc = session_error(n);
    if (rc == 0) rc = dev_ready(n, (int)item->device);
    if (rc < 0) {
        /* no body without its queue: a broken session, or a device this process cannot use */
        if (session_error(n) == 0) {
            device_debug(n, "opencl", "a task was granted a device this process cannot use", rc);
            session_fail(n, rc);
        }
        done_push(n, item->id);
        done_push_device(n, item->id);
        return;
    }
    ocl_dev_t *d = &n->ocl->devs[item->device];
    cl_command_queue queue = d->queues[item->slot];
    device_current = (device_context_t){.kind = NODUS_DEV_OPENCL,
                                        .index = (int)item->device,
                                        .cl_queue = queue,
                                        .cl_context = d->context,
                                        .cl_device = d->id,
                                        .cuda_device = -1};
    item->fn(item->arg);
    device_current = (device_context_t){.kind = NODUS_DEV_CPU, .index = -1, .cuda_device = -1};
    after_body(n, item->id, item->run, queue);
}

/* ---- public ---- */

NODUS_EXPORT int nodus_cl_device_context(nodus_t *n, int index, cl_context *context,
                                         cl_device_id *device)
{
    if (!n || index < 0 || (size_t)index >= n->ndevices ||
        n->devices[index].kind != NODUS_DEV_OPENCL)
        return NODUS_EINVAL;
    int rc = dev_ready(n, index);
    if (rc < 0) return rc;
    const ocl_dev_t *d = &n->ocl->devs[index];
    if (context) *context = d->context;
    if (device) *device = d->id;
    return 0;
}

NODUS_EXPORT cl_command_queue nodus_cl_queue(void)
{
    return device_current.kind == NODUS_DEV_OPENCL ? device_current.cl_queue : NULL;
}

NODUS_EXPORT cl_context nodus_cl_context(void)
{
    return device_current.kind == NODUS_DEV_OPENCL ? device_current.cl_context : NULL;
}

NODUS_EXPORT cl_device_id nodus_cl_device(void)
{
    return device_current.kind == NODUS_DEV_OPENCL ? device_current.cl_device : NULL;
}

#else /* !NODUS_HAVE_OPENCL: built without OpenCL headers; every entry point says ENOTSUP */

typedef struct _cl_context *cl_context;
typedef struct _cl_device_id *cl_device_id;
typedef struct _cl_command_queue *cl_command_queue;

NODUS_EXPORT int nodus_cl_device_context(nodus_t *n, int index, cl_context *context,
                                         cl_device_id *device);
NODUS_EXPORT cl_command_queue nodus_cl_queue(void);
NODUS_EXPORT cl_context nodus_cl_context(void);
NODUS_EXPORT cl_device_id nodus_cl_device(void);

int ocl_session_open(nodus_t *n)
{
    (void)n;
    return 0;
}

void ocl_session_close(nodus_t *n)
{
    (void)n;
}

void ocl_run(nodus_t *n, const grant_item_t *item)
{
    if (session_error(n) == 0) {
        device_debug(n, "opencl", "libnodus was built without OpenCL", NODUS_ENOTSUP);
        session_fail(n, NODUS_ENOTSUP);
    }
    done_push(n, item->id);
    done_push_device(n, item->id);
}

NODUS_EXPORT int nodus_cl_device_context(nodus_t *n, int index, cl_context *context,
                                         cl_device_id *device)
{
    (void)context;
    (void)device;
    if (!n || index < 0 || (size_t)index >= n->ndevices ||
        n->devices[index].kind != NODUS_DEV_OPENCL)
        return NODUS_EINVAL;
    return NODUS_ENOTSUP;
}

NODUS_EXPORT cl_command_queue nodus_cl_queue(void)
{
    return NULL;
}

NODUS_EXPORT cl_context nodus_cl_context(void)
{
    return NULL;
}

NODUS_EXPORT cl_device_id nodus_cl_device(void)
{
    return NULL;
}

#endif
