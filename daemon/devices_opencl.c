/*
 * OpenCL discovery, in a child process: it loads the ICD loader (libOpenCL.so.1) through dlopen,
 * lists every platform's devices (CL_DEVICE_TYPE_ALL) with their name, vendor, type and global
 * memory, writes them to a pipe and exits. The daemon itself never loads an OpenCL
 * implementation: it needs none after discovery (OpenCL completion is reported by the clients),
 * and implementations bring threads and tens of MiB (PoCL loads LLVM). A child that crashes,
 * hangs (DEVICES_OPENCL_TIMEOUT_MS) or writes garbage costs the OpenCL backend, nothing else.
 *
 * Called at start-up while the daemon has a single thread (fork is safe), and before CUDA is
 * initialised (a child of a process that called cuInit must not use CUDA; this one does not).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "devices.h"
#include "nodus_limits.h"

#define DEVICES_OPENCL_TIMEOUT_MS   10000
#define OPENCL_MAX_PLATFORMS        16u
#define OPENCL_MAX_PLATFORM_DEVICES 64u

/* The OpenCL 1.2 ABI subset used here (stable; checked against <CL/cl.h> when it is present). */
typedef int32_t ocl_int;
typedef uint32_t ocl_uint;
typedef uint64_t ocl_ulong;
typedef struct ocl_platform *ocl_platform_id;
typedef struct ocl_device *ocl_device_id;

#define OCL_SUCCESS                0
#define OCL_PLATFORM_NAME          0x0902
#define OCL_PLATFORM_VENDOR        0x0903
#define OCL_DEVICE_TYPE_CPU        (UINT64_C(1) << 1)
#define OCL_DEVICE_TYPE_ALL        UINT64_C(0xFFFFFFFF)
#define OCL_DEVICE_TYPE            0x1000
#define OCL_DEVICE_GLOBAL_MEM_SIZE 0x101F
#define OCL_DEVICE_NAME            0x102B
#define OCL_DEVICE_VENDOR          0x102C

#if defined(__has_include)
#if __has_include(<CL/cl.h>)
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
_Static_assert(CL_SUCCESS == OCL_SUCCESS, "CL_SUCCESS");
_Static_assert(CL_PLATFORM_NAME == OCL_PLATFORM_NAME, "CL_PLATFORM_NAME");
_Static_assert(CL_PLATFORM_VENDOR == OCL_PLATFORM_VENDOR, "CL_PLATFORM_VENDOR");
_Static_assert(CL_DEVICE_TYPE_CPU == OCL_DEVICE_TYPE_CPU, "CL_DEVICE_TYPE_CPU");
_Static_assert(CL_DEVICE_TYPE_ALL == OCL_DEVICE_TYPE_ALL, "CL_DEVICE_TYPE_ALL");
_Static_assert(CL_DEVICE_TYPE == OCL_DEVICE_TYPE, "CL_DEVICE_TYPE");
_Static_assert(CL_DEVICE_GLOBAL_MEM_SIZE == OCL_DEVICE_GLOBAL_MEM_SIZE, "GLOBAL_MEM_SIZE");
_Static_assert(CL_DEVICE_NAME == OCL_DEVICE_NAME, "CL_DEVICE_NAME");
_Static_assert(CL_DEVICE_VENDOR == OCL_DEVICE_VENDOR, "CL_DEVICE_VENDOR");
_Static_assert(sizeof(cl_int) == sizeof(ocl_int) && sizeof(cl_uint) == sizeof(ocl_uint) &&
                   sizeof(cl_device_type) == sizeof(ocl_ulong),
               "OpenCL scalar types");
#endif
#endif

typedef struct opencl_api {
    ocl_int (*get_platforms)(ocl_uint n, ocl_platform_id *ids, ocl_uint *count);
    ocl_int (*platform_info)(ocl_platform_id p, ocl_uint what, size_t size, void *value,
                             size_t *ret);
    ocl_int (*get_devices)(ocl_platform_id p, ocl_ulong type, ocl_uint n, ocl_device_id *ids,
                           ocl_uint *count);
    ocl_int (*device_info)(ocl_device_id d, ocl_uint what, size_t size, void *value, size_t *ret);
} opencl_api_t;

/* What the child sends first: how discovery went, then `count` device_found_t records. */
typedef struct opencl_report {
    int32_t status; /* 0 ok; else one of the OPENCL_* reasons below */
    int32_t code;   /* the OpenCL error, where there is one */
    uint32_t count;
} opencl_report_t;

enum { OPENCL_OK = 0, OPENCL_NO_LOADER, OPENCL_NO_SYMBOL, OPENCL_NO_PLATFORM };

static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Copies an info string, always terminated, whatever the implementation returns. */
static void text_info(char *dst, size_t size, ocl_int rc)
{
    if (rc != OCL_SUCCESS) dst[0] = '\0';
    dst[size - 1] = '\0';
}

static void child_discover(int fd)
{
    opencl_report_t rep = {0};
    static device_found_t found[NODUS_MAX_DEVICES];
    void *lib = dlopen("libOpenCL.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        rep.status = OPENCL_NO_LOADER;
        goto out;
    }
    opencl_api_t api;
    void *p[4] = {dlsym(lib, "clGetPlatformIDs"), dlsym(lib, "clGetPlatformInfo"),
                  dlsym(lib, "clGetDeviceIDs"), dlsym(lib, "clGetDeviceInfo")};
    if (!p[0] || !p[1] || !p[2] || !p[3]) {
        rep.status = OPENCL_NO_SYMBOL;
        goto out;
    }
    memcpy(&api.get_platforms, &p[0], sizeof p[0]);
    memcpy(&api.platform_info, &p[1], sizeof p[1]);
    memcpy(&api.get_devices, &p[2], sizeof p[2]);
    memcpy(&api.device_info, &p[3], sizeof p[3]);

    ocl_platform_id plats[OPENCL_MAX_PLATFORMS];
    ocl_uint nplat = 0;
    ocl_int rc = api.get_platforms(OPENCL_MAX_PLATFORMS, plats, &nplat);
    if (rc != OCL_SUCCESS || nplat == 0) {
        rep.status = OPENCL_NO_PLATFORM;
        rep.code = rc;
        goto out;
    }
    if (nplat > OPENCL_MAX_PLATFORMS) nplat = OPENCL_MAX_PLATFORMS;
    for (ocl_uint i = 0; i < nplat && rep.count < NODUS_MAX_DEVICES; i++) {
        char platform[DEVICES_TEXT_MAX];
        text_info(platform, sizeof platform,
                  api.platform_info(plats[i], OCL_PLATFORM_NAME, sizeof platform, platform, NULL));
        ocl_device_id devs[OPENCL_MAX_PLATFORM_DEVICES];
        ocl_uint ndev = 0;
        if (api.get_devices(plats[i], OCL_DEVICE_TYPE_ALL, OPENCL_MAX_PLATFORM_DEVICES, devs,
                            &ndev) != OCL_SUCCESS)
            continue;
        if (ndev > OPENCL_MAX_PLATFORM_DEVICES) ndev = OPENCL_MAX_PLATFORM_DEVICES;
        for (ocl_uint k = 0; k < ndev && rep.count < NODUS_MAX_DEVICES; k++) {
            device_found_t *f = &found[rep.count++];
            memset(f, 0, sizeof *f);
            f->kind = NODUS__V1__DEVICE_KIND__DEVICE_KIND_OPENCL;
            snprintf(f->platform, sizeof f->platform, "%s", platform);
            f->platform_device = k;
            text_info(f->name, sizeof f->name,
                      api.device_info(devs[k], OCL_DEVICE_NAME, sizeof f->name, f->name, NULL));
            text_info(
                f->vendor, sizeof f->vendor,
                api.device_info(devs[k], OCL_DEVICE_VENDOR, sizeof f->vendor, f->vendor, NULL));
            ocl_ulong type = 0, mem = 0;
            if (api.device_info(devs[k], OCL_DEVICE_TYPE, sizeof type, &type, NULL) != OCL_SUCCESS)
                type = 0;
            if (api.device_info(devs[k], OCL_DEVICE_GLOBAL_MEM_SIZE, sizeof mem, &mem, NULL) !=
                OCL_SUCCESS)
                mem = 0;
            f->cpu_device = (type & OCL_DEVICE_TYPE_CPU) != 0;
            f->memory = mem;
        }
    }
out:
    if (write_all(fd, &rep, sizeof rep) < 0 ||
        write_all(fd, found, rep.count * sizeof found[0]) < 0)
        _exit(1);
    _exit(0); /* no atexit handlers: the ICD's destructors are not worth running */
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Reads exactly len bytes before `deadline` (ms); 0, or -1 on EOF, error or timeout. */
static int read_all(int fd, void *buf, size_t len, uint64_t deadline)
{
    char *p = buf;
    while (len > 0) {
        uint64_t t = now_ms();
        if (t >= deadline) return -1;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int pr = poll(&pfd, 1, (int)(deadline - t));
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) return -1;
        ssize_t r = read(fd, p, len);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        p += r;
        len -= (size_t)r;
    }
    return 0;
}

void devices_opencl_discover(device_found_t *found, size_t max, size_t *n, char *note,
                             size_t notelen)
{
    *n = 0;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) {
        snprintf(note, notelen, "cannot create a pipe for OpenCL discovery: %s", strerror(errno));
        return;
    }
    fflush(NULL); /* the child must not write out the parent's buffered output */
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(note, notelen, "cannot fork for OpenCL discovery: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return;
    }
    if (pid == 0) {
        close(fds[0]);
        child_discover(fds[1]);
    }
    close(fds[1]);
    uint64_t deadline = now_ms() + DEVICES_OPENCL_TIMEOUT_MS;
    opencl_report_t rep;
    int ok = read_all(fds[0], &rep, sizeof rep, deadline) == 0 && rep.count <= NODUS_MAX_DEVICES;
    static device_found_t recv[NODUS_MAX_DEVICES];
    if (ok && rep.count > 0) ok = read_all(fds[0], recv, rep.count * sizeof recv[0], deadline) == 0;
    close(fds[0]);
    if (!ok) kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!ok) {
        if (WIFSIGNALED(status))
            snprintf(note, notelen, "OpenCL discovery died (signal %d) or timed out",
                     WTERMSIG(status));
        else
            snprintf(note, notelen, "OpenCL discovery failed (exit status %d)",
                     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        return;
    }
    switch (rep.status) {
    case OPENCL_OK:
        break;
    case OPENCL_NO_LOADER:
        snprintf(note, notelen, "no OpenCL ICD loader (libOpenCL.so.1 not found)");
        return;
    case OPENCL_NO_SYMBOL:
        snprintf(note, notelen, "the OpenCL ICD loader lacks clGetPlatformIDs or friends");
        return;
    case OPENCL_NO_PLATFORM:
        snprintf(note, notelen, "no OpenCL platform (clGetPlatformIDs: %d)", rep.code);
        return;
    default:
        snprintf(note, notelen, "OpenCL discovery reported status %d", rep.status);
        return;
    }
    for (uint32_t i = 0; i < rep.count && *n < max; i++) {
        found[*n] = recv[i];
        /* the child's strings are ours to trust only once terminated */
        found[*n].name[DEVICES_TEXT_MAX - 1] = '\0';
        found[*n].vendor[DEVICES_TEXT_MAX - 1] = '\0';
        found[*n].platform[DEVICES_TEXT_MAX - 1] = '\0';
        found[*n].kind = NODUS__V1__DEVICE_KIND__DEVICE_KIND_OPENCL;
        (*n)++;
    }
    snprintf(note, notelen, "OpenCL: %zu device%s", *n, *n == 1 ? "" : "s");
}
