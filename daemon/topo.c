/*
 * Core set resolution with hwloc, with sched_getaffinity as the fallback when hwloc cannot load
 * a topology (an unusual container, say).
 */
#include "topo.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hwloc.h>

#include "cpulist.h"
#include "nodus.h"
#include "nodus_limits.h"

static int allowed_hwloc(uint32_t **cpus, size_t *n)
{
    hwloc_topology_t topo;
    int rc = NODUS_EIO;
    if (hwloc_topology_init(&topo) < 0) return NODUS_EIO;
    /* CPUs only: skip I/O discovery, which is the slow part */
    hwloc_topology_set_io_types_filter(topo, HWLOC_TYPE_FILTER_KEEP_NONE);
    hwloc_bitmap_t set = hwloc_bitmap_alloc();
    if (!set || hwloc_topology_load(topo) < 0 ||
        hwloc_get_cpubind(topo, set, HWLOC_CPUBIND_PROCESS) < 0)
        goto out;
    hwloc_bitmap_and(set, set, hwloc_topology_get_allowed_cpuset(topo));
    int w = hwloc_bitmap_weight(set);
    if (w <= 0) goto out;
    uint32_t *ids = malloc((size_t)w * sizeof *ids);
    if (!ids) {
        rc = NODUS_ENOMEM;
        goto out;
    }
    size_t k = 0;
    unsigned id;
    hwloc_bitmap_foreach_begin(id, set)
    {
        if (k < (size_t)w) ids[k++] = id;
    }
    hwloc_bitmap_foreach_end();
    *cpus = ids;
    *n = k;
    rc = 0;
out:
    hwloc_bitmap_free(set);
    hwloc_topology_destroy(topo);
    return rc;
}

static int allowed_affinity(uint32_t **cpus, size_t *n)
{
    size_t ncpu = NODUS_MAX_CORES * 4;
    cpu_set_t *set = CPU_ALLOC(ncpu);
    if (!set) return NODUS_ENOMEM;
    size_t size = CPU_ALLOC_SIZE(ncpu);
    CPU_ZERO_S(size, set);
    if (sched_getaffinity(0, size, set) < 0) {
        CPU_FREE(set);
        return NODUS_EIO;
    }
    int count = CPU_COUNT_S(size, set);
    uint32_t *ids = malloc((size_t)(count > 0 ? count : 1) * sizeof *ids);
    if (!ids) {
        CPU_FREE(set);
        return NODUS_ENOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < ncpu && k < (size_t)count; i++)
        if (CPU_ISSET_S(i, size, set)) ids[k++] = (uint32_t)i;
    CPU_FREE(set);
    *cpus = ids;
    *n = k;
    return 0;
}

int topo_allowed_cpus(uint32_t **cpus, size_t *n)
{
    if (allowed_hwloc(cpus, n) == 0) return 0;
    return allowed_affinity(cpus, n);
}

static int contains(const uint32_t *ids, size_t n, uint32_t id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ids[mid] == id) return 1;
        if (ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

int topo_resolve_cores(const char *spec, const uint32_t *allowed, size_t nallowed, uint32_t **cpus,
                       size_t *n, char *err, size_t errlen)
{
    char have[256];
    cpulist_format(allowed, nallowed, have, sizeof have);
    if (nallowed == 0) {
        snprintf(err, errlen, "this process may not run on any CPU");
        return NODUS_EINVAL;
    }
    uint32_t *ids = malloc(NODUS_MAX_CORES * sizeof *ids);
    if (!ids) {
        snprintf(err, errlen, "out of memory");
        return NODUS_ENOMEM;
    }
    size_t k = 0;
    if (!spec || !spec[0]) {
        if (nallowed > NODUS_MAX_CORES) {
            snprintf(err, errlen, "%zu CPUs allowed; nodusd manages at most %u (use --cores)",
                     nallowed, NODUS_MAX_CORES);
            free(ids);
            return NODUS_EINVAL;
        }
        memcpy(ids, allowed, nallowed * sizeof *ids);
        k = nallowed;
    } else {
        unsigned count = 0;
        int rc = cpulist_parse(spec, 1, ids, NODUS_MAX_CORES, &k, &count);
        if (rc < 0) {
            snprintf(err, errlen, "bad core list \"%s\"%s", spec,
                     rc == NODUS_ELIMIT ? " (too many CPUs)" : "");
            free(ids);
            return NODUS_EINVAL;
        }
        if (count > 0) {
            if (count > nallowed) {
                snprintf(err, errlen, "%u cores asked, but only %zu CPUs are allowed (%s)", count,
                         nallowed, have);
                free(ids);
                return NODUS_EINVAL;
            }
            memcpy(ids, allowed, count * sizeof *ids);
            k = count;
        } else {
            for (size_t i = 0; i < k; i++) {
                if (!contains(allowed, nallowed, ids[i])) {
                    snprintf(err, errlen, "CPU %u is not in this process's allowed set (%s)",
                             ids[i], have);
                    free(ids);
                    return NODUS_EINVAL;
                }
            }
        }
    }
    *cpus = ids;
    *n = k;
    return 0;
}
