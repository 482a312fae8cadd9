/*
 * The CUDA backend (see cuda_dev.h).
 *
 * Finding the runtime: the application's own libcudart first (dlsym(RTLD_DEFAULT): a program
 * linked with the shared runtime, or one that loaded it), else libcudart.so, .so.13, .so.12 with
 * dlopen. A program linked with the static runtime (nvcc's default) does not export its symbols,
 * so libnodus then uses a second runtime instance; both run on the driver's primary context of
 * each device, so streams and events are shared between them (CUDA's documented runtime/driver
 * interoperability), but linking the application with the shared runtime avoids the duplicate
 * (CMake: CUDA_RUNTIME_LIBRARY Shared).
 *
 * Matching the daemon's devices (docs/devices.md: by UUID): the runtime has no UUID call that
 * does not go through cudaDeviceProp, whose layout changes between CUDA versions, so libnodus
 * asks the driver, which the daemon also uses: runtime ordinal -> cudaDeviceGetPCIBusId ->
 * cuDeviceGetByPCIBusId -> cuDeviceGetUuid_v2 (cuDeviceGetUuid on older drivers). Both APIs see
 * the same CUDA_VISIBLE_DEVICES, so the mapping is exact; only fixed-size ABI is involved
 * (cuda_abi.h).
 *
 * Completion (task-aware CUDA): after a body returns, the worker records a pooled event created
 * with cudaEventDisableTiming | cudaEventInterprocess on the task's stream and reports the Done
 * with the event's pool index (and its cudaIpcGetEventHandle bytes the first time the entry is
 * used); nodusd opens the handle once and polls it. An entry is reused only when cudaEventQuery
 * says its last recording completed here, scanning round-robin from the last entry used, so the
 * daemon has the most time to see a completion before the entry is recorded again; the pool
 * grows when no entry is free. A failure to record breaks the session with NODUS_EIO and the
 * Done goes without an event (the daemon then treats the task as complete).
 *
 * Locks: `crt.lock` (process-wide start) is taken under a session's `lock`, never the reverse.
 */
#include "cuda_dev.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "done.h"
#include "cuda_abi.h"
#include "internal.h"
#include "worker.h"

/* nodus/cuda.h declares these with the toolkit's types (cudaStream_t is cudart_stream_t) */
NODUS_EXPORT cudart_stream_t nodus_cuda_stream(void);
NODUS_EXPORT int nodus_cuda_device(void);
NODUS_EXPORT int nodus_cuda_device_of(nodus_t *n, int index);

typedef struct cudart_api {
    cudart_get_device_count_fn GetDeviceCount;
    cudart_set_device_fn SetDevice;
    cudart_device_get_pci_bus_id_fn DeviceGetPCIBusId;
    cudart_stream_create_with_flags_fn StreamCreateWithFlags;
    cudart_stream_destroy_fn StreamDestroy;
    cudart_event_create_with_flags_fn EventCreateWithFlags;
    cudart_event_record_fn EventRecord;
    cudart_event_query_fn EventQuery;
    cudart_event_destroy_fn EventDestroy;
    cudart_ipc_get_event_handle_fn IpcGetEventHandle;
} cudart_api_t;

/* Process-wide: the runtime and the UUID of every local ordinal. */
static struct cuda_runtime {
    pthread_mutex_t lock;
    int state; /* 0: not tried; 1: ready; < 0: NODUS_ENOTSUP */
    cudart_api_t api;
    int count;        /* local devices */
    cu_uuid_t *uuids; /* count entries; owned, never freed */
    bool *uuid_known; /* count entries */
} crt = {.lock = PTHREAD_MUTEX_INITIALIZER};
static atomic_int crt_ready; /* 1 once crt.api may be read without the lock */

typedef struct cuda_event_entry {
    cudart_event_t event;
    int ordinal;      /* the device it was created on */
    bool handle_sent; /* the daemon has its IPC handle */
    cudart_ipc_event_handle_t handle;
} cuda_event_entry_t;

struct cuda_session {
    pthread_mutex_t lock;       /* everything below */
    int *ordinal;               /* by daemon index: local ordinal, -1 unusable, -2 not matched */
    cudart_stream_t **streams;  /* by daemon index: `slots` streams created on first use */
    cuda_event_entry_t *events; /* the event pool; the index is the wire's pool_index */
    size_t nevents, events_cap;
    size_t cursor; /* where the next search for a free entry starts */
};

/* ---- the runtime ---- */

static int api_resolve(void *lib, cudart_api_t *a)
{
    int missing = 0;
#define CUDA_RESOLVE(f)                                                                            \
    do {                                                                                           \
        void *p = dlsym(lib, "cuda" #f);                                                           \
        if (!p) missing = 1;                                                                       \
        memcpy(&a->f, &p, sizeof p);                                                               \
    } while (0)
    CUDA_RESOLVE(GetDeviceCount);
    CUDA_RESOLVE(SetDevice);
    CUDA_RESOLVE(DeviceGetPCIBusId);
    CUDA_RESOLVE(StreamCreateWithFlags);
    CUDA_RESOLVE(StreamDestroy);
    CUDA_RESOLVE(EventCreateWithFlags);
    CUDA_RESOLVE(EventRecord);
    CUDA_RESOLVE(EventQuery);
    CUDA_RESOLVE(EventDestroy);
    CUDA_RESOLVE(IpcGetEventHandle);
#undef CUDA_RESOLVE
    return missing ? NODUS_ENOTSUP : 0;
}

static int api_load(cudart_api_t *a)
{
    if (api_resolve(RTLD_DEFAULT, a) == 0) return 0; /* the application's own runtime */
    static const char *const names[] = {"libcudart.so", "libcudart.so.13", "libcudart.so.12"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        void *lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (!lib) continue;
        if (api_resolve(lib, a) == 0) return 0; /* stays loaded for the life of the process */
        dlclose(lib);
    }
    return NODUS_ENOTSUP;
}

/* Fills crt.uuids through the driver API; a device whose UUID cannot be read stays unknown. */
static void uuids_load(void)
{
    void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) return;
    cu_init_fn init;
    cu_device_get_by_pci_bus_id_fn by_bus;
    cu_device_get_uuid_fn get_uuid;
    void *p = dlsym(lib, "cuInit");
    memcpy(&init, &p, sizeof p);
    p = dlsym(lib, "cuDeviceGetByPCIBusId");
    memcpy(&by_bus, &p, sizeof p);
    p = dlsym(lib, "cuDeviceGetUuid_v2");
    if (!p) p = dlsym(lib, "cuDeviceGetUuid");
    memcpy(&get_uuid, &p, sizeof p);
    if (!init || !by_bus || !get_uuid || init(0) != CU_SUCCESS) return; /* lib stays loaded */
    for (int i = 0; i < crt.count; i++) {
        char bus[CUDART_PCI_BUS_ID_LEN] = "";
        cu_device_t dev;
        if (crt.api.DeviceGetPCIBusId(bus, (int)sizeof bus, i) == CUDART_SUCCESS &&
            by_bus(&dev, bus) == CU_SUCCESS && get_uuid(&crt.uuids[i], dev) == CU_SUCCESS)
            crt.uuid_known[i] = true;
    }
}

/* Starts the runtime once per process. Returns 0 or NODUS_ENOTSUP. Any thread. */
static int runtime_start(void)
{
    if (atomic_load_explicit(&crt_ready, memory_order_acquire)) return 0;
    pthread_mutex_lock(&crt.lock);
    if (crt.state == 0) {
        int rc = api_load(&crt.api);
        int count = 0;
        if (rc == 0 && (crt.api.GetDeviceCount(&count) != CUDART_SUCCESS || count <= 0))
            rc = NODUS_ENOTSUP;
        if (rc == 0) {
            crt.uuids = calloc((size_t)count, sizeof *crt.uuids);
            crt.uuid_known = calloc((size_t)count, sizeof *crt.uuid_known);
            if (!crt.uuids || !crt.uuid_known) {
                free(crt.uuids);
                free(crt.uuid_known);
                crt.uuids = NULL;
                crt.uuid_known = NULL;
                rc = NODUS_ENOMEM;
            }
        }
        if (rc == 0) {
            crt.count = count;
            uuids_load();
            crt.state = 1;
            atomic_store_explicit(&crt_ready, 1, memory_order_release);
        } else if (rc != NODUS_ENOMEM) {
            crt.state = rc;
        }
        pthread_mutex_unlock(&crt.lock);
        return rc;
    }
    int rc = crt.state > 0 ? 0 : crt.state;
    pthread_mutex_unlock(&crt.lock);
    return rc;
}

/* The local ordinal of daemon device `index`, matched by UUID; under the session lock. */
static int ordinal_of(nodus_t *n, int index)
{
    struct cuda_session *s = n->cuda;
    if (s->ordinal[index] != -2) return s->ordinal[index] >= 0 ? s->ordinal[index] : NODUS_ENOTSUP;
    int rc = runtime_start();
    if (rc < 0) return rc;
    const device_t *d = &n->devices[index];
    s->ordinal[index] = -1;
    for (int i = 0; d->has_uuid && i < crt.count; i++)
        if (crt.uuid_known[i] && memcmp(crt.uuids[i].bytes, d->uuid, DEVICE_UUID_SIZE) == 0)
            s->ordinal[index] = i;
    if (s->ordinal[index] < 0) {
        device_debug(n, "cuda", "no local device has the UUID of a daemon device", index);
        return NODUS_ENOTSUP;
    }
    return s->ordinal[index];
}

/* ---- session ---- */

int cuda_session_open(nodus_t *n)
{
    struct cuda_session *s = calloc(1, sizeof *s);
    size_t count = n->ndevices ? n->ndevices : 1;
    if (s) {
        s->ordinal = malloc(count * sizeof *s->ordinal);
        s->streams = calloc(count, sizeof *s->streams);
    }
    if (!s || !s->ordinal || !s->streams) {
        if (s) {
            free(s->ordinal);
            free(s->streams);
        }
        free(s);
        return NODUS_ENOMEM;
    }
    for (size_t i = 0; i < count; i++)
        s->ordinal[i] = -2;
    pthread_mutex_init(&s->lock, NULL);
    n->cuda = s;
    return 0;
}

void cuda_session_close(nodus_t *n)
{
    struct cuda_session *s = n->cuda;
    if (!s) return;
    bool have_rt = atomic_load_explicit(&crt_ready, memory_order_acquire);
    for (size_t i = 0; i < n->ndevices; i++) {
        for (uint32_t q = 0; s->streams[i] && q < n->devices[i].slots; q++)
            if (have_rt && s->streams[i][q]) crt.api.StreamDestroy(s->streams[i][q]);
        free(s->streams[i]);
    }
    for (size_t i = 0; have_rt && i < s->nevents; i++)
        crt.api.EventDestroy(s->events[i].event);
    free(s->events);
    free(s->streams);
    free(s->ordinal);
    pthread_mutex_destroy(&s->lock);
    free(s);
    n->cuda = NULL;
}

/* The stream of (index, slot), created on first use; sets *ordinal. Any thread. */
static int stream_ready(nodus_t *n, uint32_t index, uint32_t slot, int *ordinal,
                        cudart_stream_t *stream)
{
    struct cuda_session *s = n->cuda;
    pthread_mutex_lock(&s->lock);
    int rc = ordinal_of(n, (int)index);
    if (rc >= 0) {
        *ordinal = rc;
        rc = 0;
        if (!s->streams[index]) {
            s->streams[index] = calloc(n->devices[index].slots, sizeof **s->streams);
            if (!s->streams[index]) rc = NODUS_ENOMEM;
        }
    }
    if (rc == 0 && !s->streams[index][slot]) {
        cudart_stream_t st = NULL;
        if (crt.api.SetDevice(*ordinal) != CUDART_SUCCESS ||
            crt.api.StreamCreateWithFlags(&st, CUDART_STREAM_NON_BLOCKING) != CUDART_SUCCESS)
            rc = NODUS_EIO;
        else
            s->streams[index][slot] = st;
    }
    if (rc == 0) *stream = s->streams[index][slot];
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* A pool entry of `ordinal` whose last recording completed, or a new one; under s->lock. */
static int event_take(struct cuda_session *s, int ordinal, size_t *index)
{
    for (size_t k = 0; k < s->nevents; k++) {
        size_t i = (s->cursor + k) % s->nevents;
        if (s->events[i].ordinal != ordinal) continue;
        cudart_error_t q = crt.api.EventQuery(s->events[i].event);
        if (q == CUDART_SUCCESS) {
            *index = i;
            return 0;
        }
        if (q != CUDART_ERROR_NOT_READY) return NODUS_EIO;
    }
    if (s->nevents >= NODUS_MAX_CUDA_EVENTS) return NODUS_ELIMIT;
    if (s->nevents == s->events_cap) {
        size_t cap = s->events_cap ? s->events_cap * 2 : 16;
        cuda_event_entry_t *e = realloc(s->events, cap * sizeof *e);
        if (!e) return NODUS_ENOMEM;
        s->events = e;
        s->events_cap = cap;
    }
    cuda_event_entry_t *e = &s->events[s->nevents];
    memset(e, 0, sizeof *e);
    e->ordinal = ordinal;
    if (crt.api.EventCreateWithFlags(&e->event, CUDART_EVENT_DISABLE_TIMING |
                                                    CUDART_EVENT_INTERPROCESS) != CUDART_SUCCESS)
        return NODUS_EIO;
    if (crt.api.IpcGetEventHandle(&e->handle, e->event) != CUDART_SUCCESS) {
        crt.api.EventDestroy(e->event);
        return NODUS_EIO;
    }
    *index = s->nevents++;
    return 0;
}

/* After the body: record a pooled event on the stream and report the Done with it. */
static void after_body(nodus_t *n, uint64_t id, int ordinal, cudart_stream_t stream)
{
    struct cuda_session *s = n->cuda;
    cudart_ipc_event_handle_t handle;
    bool send_handle = false;
    size_t index = 0;
    pthread_mutex_lock(&s->lock);
    int rc = crt.api.SetDevice(ordinal) == CUDART_SUCCESS ? 0 : NODUS_EIO; /* body may move it */
    if (rc == 0) rc = event_take(s, ordinal, &index);
    if (rc == 0) {
        cuda_event_entry_t *e = &s->events[index];
        if (crt.api.EventRecord(e->event, stream) != CUDART_SUCCESS) {
            rc = NODUS_EIO;
        } else {
            s->cursor = index + 1;
            send_handle = !e->handle_sent;
            e->handle_sent = true;
            handle = e->handle;
        }
    }
    pthread_mutex_unlock(&s->lock);
    if (rc == 0) {
        done_push_cuda(n, id, (uint32_t)index, send_handle ? handle.reserved : NULL);
        return;
    }
    device_debug(n, "cuda", "cannot record the completion event of a task", rc);
    session_fail(n, rc == NODUS_ELIMIT ? rc : NODUS_EIO);
    done_push(n, id); /* no event: the daemon treats the task as complete */
}

void cuda_run(nodus_t *n, const grant_item_t *item)
{
    int ordinal = -1;
    cudart_stream_t stream = NULL;
    int rc = session_error(n);
    if (rc == 0) rc = stream_ready(n, item->device, item->slot, &ordinal, &stream);
    if (rc == 0 && crt.api.SetDevice(ordinal) != CUDART_SUCCESS) rc = NODUS_EIO;
    if (rc < 0) {
        if (session_error(n) == 0) {
            device_debug(n, "cuda", "a task was granted a device this process cannot use", rc);
            session_fail(n, rc);
        }
        done_push(n, item->id);
        return;
    }
    device_current = (device_context_t){.kind = NODUS_DEV_CUDA,
                                        .index = (int)item->device,
                                        .cuda_stream = stream,
                                        .cuda_device = ordinal};
    item->fn(item->arg);
    device_current = (device_context_t){.kind = NODUS_DEV_CPU, .index = -1, .cuda_device = -1};
    after_body(n, item->id, ordinal, stream);
}

int cuda_session_quiesce(nodus_t *n, uint64_t deadline_ms)
{
    struct cuda_session *s = n->cuda;
    if (!s || !atomic_load_explicit(&crt_ready, memory_order_acquire)) return 0;
    int rc = 0;
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->nevents && rc == 0;) {
        cudart_error_t q = crt.api.EventQuery(s->events[i].event);
        if (q == CUDART_SUCCESS) {
            i++;
            continue;
        }
        if (q != CUDART_ERROR_NOT_READY) {
            rc = NODUS_EIO;
            break;
        }
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        if ((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u >= deadline_ms) {
            rc = NODUS_ETIMEDOUT;
            break;
        }
        pthread_mutex_unlock(&s->lock);
        struct timespec nap = {.tv_sec = 0, .tv_nsec = 1000000L};
        nanosleep(&nap, NULL);
        pthread_mutex_lock(&s->lock);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* ---- public ---- */

NODUS_EXPORT cudart_stream_t nodus_cuda_stream(void)
{
    return device_current.kind == NODUS_DEV_CUDA ? device_current.cuda_stream : NULL;
}

NODUS_EXPORT int nodus_cuda_device(void)
{
    return device_current.kind == NODUS_DEV_CUDA ? device_current.cuda_device : -1;
}

NODUS_EXPORT int nodus_cuda_device_of(nodus_t *n, int index)
{
    if (!n || index < 0 || (size_t)index >= n->ndevices || n->devices[index].kind != NODUS_DEV_CUDA)
        return NODUS_EINVAL;
    pthread_mutex_lock(&n->cuda->lock);
    int rc = ordinal_of(n, index);
    pthread_mutex_unlock(&n->cuda->lock);
    return rc;
}
