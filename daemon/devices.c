/*
 * Device discovery and configuration: runs the backends (devices_cuda.c, devices_opencl.c),
 * applies [devices] (cuda, opencl, allow, slots, opencl_cpu_cores), assigns a CPU OpenCL device
 * its cores, and builds the DeviceInfo messages Welcome and StatusReply carry. Policy in
 * devices.h and docs/devices.md.
 */
#include "validate.h"
#include "devices.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cpulist.h"
#include "log.h"
#include "nodus.h"
#include "nodus_limits.h"

/* ---- pure helpers ---- */

/* Case-insensitive: does `hay` contain the n bytes at `needle`? */
static int contains(const char *hay, const char *needle, size_t n)
{
    size_t h = strlen(hay);
    for (size_t i = 0; i + n <= h; i++)
        if (strncasecmp(hay + i, needle, n) == 0) return 1;
    return 0;
}

int devices_allowed(const char *allow, uint32_t index, const char *name)
{
    if (!allow || !*allow) return 1;
    const char *p = allow;
    for (;;) {
        const char *end = strchr(p, ',');
        if (!end) end = p + strlen(p);
        const char *a = p, *b = end;
        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        size_t n = (size_t)(b - a);
        if (n > 0) {
            int digits = 1;
            for (const char *q = a; q < b; q++)
                if (!isdigit((unsigned char)*q)) digits = 0;
            if (digits) {
                if (n <= 9 && strtoul(a, NULL, 10) == index) return 1;
            } else if (name && contains(name, a, n)) {
                return 1;
            }
        }
        if (*end == '\0') return 0;
        p = end + 1;
    }
}

size_t devices_cpu_device_cores(unsigned configured, size_t ncores)
{
    if (ncores < 2) return 0; /* the body needs a core of its own */
    size_t k = configured ? configured : ncores / 2;
    if (k < 1) k = 1;
    if (k > ncores - 1) k = ncores - 1;
    return k;
}

/* ---- discovery ---- */

static void device_clear(device_t *d)
{
    free(d->core_index);
    free(d->cpus);
    d->core_index = d->cpus = NULL;
    d->ncores = 0;
}

/* Builds the DeviceInfo of each device (strings and arrays borrowed from the device). */
static int build_info(devices_t *dv)
{
    if (dv->n == 0) return 0;
    dv->info = calloc(dv->n, sizeof *dv->info);
    dv->info_ptrs = calloc(dv->n, sizeof *dv->info_ptrs);
    if (!dv->info || !dv->info_ptrs) return NODUS_ENOMEM;
    for (size_t i = 0; i < dv->n; i++) {
        device_t *d = &dv->list[i];
        Nodus__V1__DeviceInfo *in = &dv->info[i];
        nodus__v1__device_info__init(in);
        in->index = (uint32_t)i;
        in->kind = (Nodus__V1__DeviceKind)d->kind;
        in->name = d->name;
        in->vendor = d->vendor;
        in->memory = d->memory;
        in->slots = dv->slots;
        if (d->kind == NODUS__V1__DEVICE_KIND__DEVICE_KIND_CUDA) {
            in->uuid.data = d->uuid;
            in->uuid.len = sizeof d->uuid;
        } else {
            in->platform = d->platform;
            in->platform_device = d->platform_device;
            in->cpu_device = d->cpu_device != 0;
            in->n_cores = d->ncores;
            in->cores = d->cpus;
        }
        dv->info_ptrs[i] = in;
    }
    return 0;
}

/* Records (and logs) why found device f is not kept. */
static void exclude(devices_t *dv, const device_found_t *f, uint32_t discovery_index,
                    const char *why)
{
    size_t len = strlen(dv->excluded);
    snprintf(dv->excluded + len, sizeof dv->excluded - len, "%u %s \"%s\": %s\n", discovery_index,
             device_kind_name(f->kind), f->name, why);
    LOG(LOG_INFO, "devices", 0, "%s device %u (%s) not used: %s", device_kind_name(f->kind),
        discovery_index, f->name, why);
}

/* Keeps found device f (if allowed and usable) as the next daemon device. */
static int keep(devices_t *dv, const device_found_t *f, uint32_t discovery_index,
                const nodus_config_t *cfg, const uint32_t *cpus, size_t ncores)
{
    if (!devices_allowed(cfg->devices_allow, discovery_index, f->name)) {
        exclude(dv, f, discovery_index, "not in devices.allow");
        return 0;
    }
    size_t k = 0;
    if (f->cpu_device) {
        k = devices_cpu_device_cores(cfg->devices_opencl_cpu_cores, ncores);
        if (k == 0) {
            exclude(dv, f, discovery_index, "a CPU device needs a daemon with 2 cores or more");
            return 0;
        }
        if (cfg->devices_opencl_cpu_cores > k)
            LOG(LOG_NOTICE, "devices", 0,
                "devices.opencl_cpu_cores = %u: only %zu of the daemon's %zu cores can be held",
                cfg->devices_opencl_cpu_cores, k, ncores);
    }
    device_t *d = &dv->list[dv->n];
    memset(d, 0, sizeof *d);
    d->kind = f->kind;
    snprintf(d->name, sizeof d->name, "%s", f->name);
    snprintf(d->vendor, sizeof d->vendor, "%s", f->vendor);
    snprintf(d->platform, sizeof d->platform, "%s", f->platform);
    d->platform_device = f->platform_device;
    d->memory = f->memory;
    memcpy(d->uuid, f->uuid, sizeof d->uuid);
    d->cpu_device = f->cpu_device;
    d->cuda_ordinal = f->cuda_ordinal;
    d->discovery_index = discovery_index;
    if (k > 0) {
        d->core_index = malloc(k * sizeof *d->core_index);
        d->cpus = malloc(k * sizeof *d->cpus);
        if (!d->core_index || !d->cpus) {
            device_clear(d);
            return NODUS_ENOMEM;
        }
        for (size_t i = 0; i < k; i++) {
            d->core_index[i] = (uint32_t)(ncores - k + i); /* the last k cores */
            d->cpus[i] = cpus[ncores - k + i];
        }
        d->ncores = k;
    }
    dv->n++;
    return 0;
}

int devices_discover(devices_t *dv, const nodus_config_t *cfg, const uint32_t *cpus, size_t ncores)
{
    memset(dv, 0, sizeof *dv);
    dv->slots = cfg->devices_slots ? cfg->devices_slots : 4;
    const char *off = getenv("NODUS_NO_DEVICES");
    if (off && off[0] && strcmp(off, "0") != 0) {
        snprintf(dv->cuda_note, sizeof dv->cuda_note, "disabled by NODUS_NO_DEVICES");
        snprintf(dv->opencl_note, sizeof dv->opencl_note, "disabled by NODUS_NO_DEVICES");
        return 0;
    }
    device_found_t *found = calloc(2 * NODUS_MAX_DEVICES, sizeof *found);
    dv->list = calloc(NODUS_MAX_DEVICES, sizeof *dv->list);
    if (!found || !dv->list) {
        free(found);
        free(dv->list);
        dv->list = NULL;
        return NODUS_ENOMEM;
    }
    /* OpenCL first: its child is forked before this process initialises CUDA */
    size_t ncl = 0, ncu = 0;
    if (cfg->devices_opencl)
        devices_opencl_discover(found + NODUS_MAX_DEVICES, NODUS_MAX_DEVICES, &ncl, dv->opencl_note,
                                sizeof dv->opencl_note);
    else
        snprintf(dv->opencl_note, sizeof dv->opencl_note, "disabled (devices.opencl = no)");
    if (cfg->devices_cuda)
        devices_cuda_discover(&dv->cuda, found, NODUS_MAX_DEVICES, &ncu, dv->cuda_note,
                              sizeof dv->cuda_note);
    else
        snprintf(dv->cuda_note, sizeof dv->cuda_note, "disabled (devices.cuda = no)");
    LOG(LOG_INFO, "devices", 0, "%s", dv->cuda_note);
    LOG(LOG_INFO, "devices", 0, "%s", dv->opencl_note);

    int rc = 0;
    uint32_t index = 0;
    size_t ncuda_kept = 0;
    for (size_t i = 0; i < ncu && rc == 0 && dv->n < NODUS_MAX_DEVICES; i++, index++) {
        size_t before = dv->n;
        rc = keep(dv, &found[i], index, cfg, cpus, ncores);
        ncuda_kept += dv->n - before;
    }
    for (size_t i = 0; i < ncl && rc == 0 && dv->n < NODUS_MAX_DEVICES; i++, index++)
        rc = keep(dv, &found[NODUS_MAX_DEVICES + i], index, cfg, cpus, ncores);
    free(found);
    if (ncuda_kept == 0 && dv->cuda.lib) devices_cuda_unload(&dv->cuda);
    if (rc == 0) rc = build_info(dv);
    if (rc < 0) {
        devices_free(dv);
        return rc;
    }
    for (size_t i = 0; i < dv->n; i++) {
        const device_t *d = &dv->list[i];
        char cores[128] = "";
        if (d->ncores) cpulist_format(d->cpus, d->ncores, cores, sizeof cores);
        LOG(LOG_INFO, "devices", 0, "device %zu: %s \"%s\" (%s), %llu MiB%s%s", i,
            device_kind_name(d->kind), d->name, d->vendor, (unsigned long long)(d->memory >> 20),
            d->ncores ? ", CPU device on cores " : "", cores);
    }
    return 0;
}

void devices_free(devices_t *dv)
{
    for (size_t i = 0; i < dv->n; i++) {
        device_t *d = &dv->list[i];
        if (d->cuda_ctx && dv->cuda.primary_ctx_release)
            dv->cuda.primary_ctx_release(d->cuda_ordinal);
        d->cuda_ctx = NULL;
        device_clear(d);
    }
    if (dv->cuda.lib) devices_cuda_unload(&dv->cuda);
    free(dv->list);
    free(dv->info);
    free(dv->info_ptrs);
    dv->list = NULL;
    dv->info = NULL;
    dv->info_ptrs = NULL;
    dv->n = 0;
}

int devices_cuda_context(devices_t *dv, size_t index, cu_context_t *ctx)
{
    if (index >= dv->n || dv->list[index].kind != NODUS__V1__DEVICE_KIND__DEVICE_KIND_CUDA ||
        !dv->cuda.lib)
        return NODUS_EINVAL;
    device_t *d = &dv->list[index];
    if (!d->cuda_ctx) {
        cu_result_t rc = dv->cuda.primary_ctx_retain(&d->cuda_ctx, d->cuda_ordinal);
        if (rc != CU_SUCCESS) {
            LOG(LOG_ERR, "devices", 0, "device %zu: cuDevicePrimaryCtxRetain failed (%d)", index,
                rc);
            d->cuda_ctx = NULL;
            return NODUS_EIO;
        }
    }
    if (dv->cuda.ctx_set_current(d->cuda_ctx) != CU_SUCCESS) return NODUS_EIO;
    *ctx = d->cuda_ctx;
    return 0;
}

void devices_print(const devices_t *dv, FILE *out)
{
    fprintf(out, "cuda:   %s\nopencl: %s\n", dv->cuda_note, dv->opencl_note);
    if (dv->excluded[0]) fprintf(out, "not used:\n%s", dv->excluded);
    if (dv->n == 0) {
        fprintf(out, "no devices\n");
        return;
    }
    fprintf(out, "%-5s %-6s %-40s %10s  %s\n", "INDEX", "KIND", "NAME", "MEMORY", "DETAILS");
    for (size_t i = 0; i < dv->n; i++) {
        const device_t *d = &dv->list[i];
        char mem[32], details[320];
        snprintf(mem, sizeof mem, "%llu MiB", (unsigned long long)(d->memory >> 20));
        if (d->kind == NODUS__V1__DEVICE_KIND__DEVICE_KIND_CUDA) {
            char uuid[40];
            int n = 0;
            for (int k = 0; k < 16; k++)
                n += snprintf(uuid + n, sizeof uuid - (size_t)n, "%s%02x",
                              k == 4 || k == 6 || k == 8 || k == 10 ? "-" : "", d->uuid[k]);
            snprintf(details, sizeof details, "ordinal %d, GPU-%s, slots %u", d->cuda_ordinal, uuid,
                     dv->slots);
        } else {
            char cores[128] = "";
            if (d->ncores) cpulist_format(d->cpus, d->ncores, cores, sizeof cores);
            snprintf(details, sizeof details, "platform \"%s\" #%u, %s%s, slots %u", d->platform,
                     d->platform_device, d->cpu_device ? "CPU device on cores " : "device", cores,
                     dv->slots);
        }
        fprintf(out, "%-5zu %-6s %-40s %10s  %s\n", i, device_kind_name(d->kind), d->name, mem,
                details);
    }
}
