/*
 * A stand-in libcuda.so.1 for test_session_device: lets nodusd's CUDA path (discovery, IPC
 * event handles, the tracker) run on a machine without a GPU. It exports the driver entry points
 * nodusd looks up, with these semantics:
 *   - one device, "Fake CUDA Device", 1 GiB, UUID bytes 0x10..0x1f;
 *   - an "IPC event handle" holds a NUL-terminated file path; the event is complete once that
 *     file exists (cuEventQuery: CUDA_SUCCESS, else CUDA_ERROR_NOT_READY); a handle starting
 *     with "FAIL" cannot be opened, one starting with "ERROR:" opens but fails its queries;
 *   - with FAKE_CUDA_LOG=FILE, opens and destroys are appended to FILE ("open PATH",
 *     "destroy PATH") so a test can see that nodusd releases what it opened.
 * Never installed; built into its own directory and found through LD_LIBRARY_PATH.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int CUresult;
typedef int CUdevice;
typedef struct fake_ctx *CUcontext;
typedef struct fake_event *CUevent;
typedef struct {
    char bytes[16];
} CUuuid;
typedef struct {
    char reserved[64];
} CUipcEventHandle;

struct fake_event {
    char path[64];
};

#define SUCCESS        0
#define INVALID_VALUE  1
#define INVALID_HANDLE 400
#define NOT_READY      600

#define EXPORT __attribute__((visibility("default")))

EXPORT CUresult cuInit(unsigned flags);
EXPORT CUresult cuDriverGetVersion(int *v);
EXPORT CUresult cuDeviceGetCount(int *n);
EXPORT CUresult cuDeviceGet(CUdevice *d, int ordinal);
EXPORT CUresult cuDeviceGetName(char *name, int len, CUdevice d);
EXPORT CUresult cuDeviceTotalMem_v2(size_t *bytes, CUdevice d);
EXPORT CUresult cuDeviceGetUuid_v2(CUuuid *u, CUdevice d);
EXPORT CUresult cuDevicePrimaryCtxRetain(CUcontext *ctx, CUdevice d);
EXPORT CUresult cuDevicePrimaryCtxRelease_v2(CUdevice d);
EXPORT CUresult cuCtxSetCurrent(CUcontext ctx);
EXPORT CUresult cuIpcOpenEventHandle(CUevent *ev, CUipcEventHandle h);
EXPORT CUresult cuEventQuery(CUevent ev);
EXPORT CUresult cuEventDestroy_v2(CUevent ev);
EXPORT CUresult cuGetErrorString(CUresult e, const char **s);

static struct fake_ctx {
    int dummy;
} the_ctx;

static void log_line(const char *what, const char *path)
{
    const char *file = getenv("FAKE_CUDA_LOG");
    if (!file || !file[0]) return;
    FILE *f = fopen(file, "a");
    if (!f) return;
    fprintf(f, "%s %s\n", what, path);
    fclose(f);
}

CUresult cuInit(unsigned flags)
{
    return flags == 0 ? SUCCESS : INVALID_VALUE;
}

CUresult cuDriverGetVersion(int *v)
{
    *v = 13000;
    return SUCCESS;
}

CUresult cuDeviceGetCount(int *n)
{
    *n = 1;
    return SUCCESS;
}

CUresult cuDeviceGet(CUdevice *d, int ordinal)
{
    if (ordinal != 0) return INVALID_VALUE;
    *d = 0;
    return SUCCESS;
}

CUresult cuDeviceGetName(char *name, int len, CUdevice d)
{
    snprintf(name, (size_t)len, "Fake CUDA Device %d", d);
    return SUCCESS;
}

CUresult cuDeviceTotalMem_v2(size_t *bytes, CUdevice d)
{
    (void)d;
    *bytes = (size_t)1 << 30;
    return SUCCESS;
}

CUresult cuDeviceGetUuid_v2(CUuuid *u, CUdevice d)
{
    (void)d;
    for (int i = 0; i < 16; i++)
        u->bytes[i] = (char)(0x10 + i);
    return SUCCESS;
}

CUresult cuDevicePrimaryCtxRetain(CUcontext *ctx, CUdevice d)
{
    (void)d;
    *ctx = &the_ctx;
    return SUCCESS;
}

CUresult cuDevicePrimaryCtxRelease_v2(CUdevice d)
{
    (void)d;
    return SUCCESS;
}

CUresult cuCtxSetCurrent(CUcontext ctx)
{
    return ctx == &the_ctx || ctx == NULL ? SUCCESS : INVALID_VALUE;
}

CUresult cuIpcOpenEventHandle(CUevent *ev, CUipcEventHandle h)
{
    if (strncmp(h.reserved, "FAIL", 4) == 0) return INVALID_HANDLE;
    struct fake_event *e = calloc(1, sizeof *e);
    if (!e) return INVALID_VALUE;
    memcpy(e->path, h.reserved, sizeof e->path - 1);
    log_line("open", e->path);
    *ev = e;
    return SUCCESS;
}

CUresult cuEventQuery(CUevent ev)
{
    if (strncmp(ev->path, "ERROR:", 6) == 0) return INVALID_HANDLE;
    return access(ev->path, F_OK) == 0 ? SUCCESS : NOT_READY;
}

CUresult cuEventDestroy_v2(CUevent ev)
{
    log_line("destroy", ev->path);
    free(ev);
    return SUCCESS;
}

CUresult cuGetErrorString(CUresult e, const char **s)
{
    *s = e == SUCCESS ? "no error" : "fake CUDA error";
    return SUCCESS;
}
