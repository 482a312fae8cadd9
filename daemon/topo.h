/*
 * CPU topology for nodusd: which OS CPUs the daemon may hand out. By default the process's CPU
 * affinity set (what the daemon was started with: taskset, cgroup cpuset, a batch allocation);
 * `--cores` narrows it to a list ("0-3,6", which must lie inside that set) or a count ("4":
 * the first four CPUs of the set). Start-up only.
 */
#ifndef NODUS_TOPO_H
#define NODUS_TOPO_H

#include <stddef.h>
#include <stdint.h>

/*
 * The CPUs this process may run on, ascending, in a malloc'd array the caller frees. Uses hwloc
 * (binding intersected with the allowed set) and falls back to sched_getaffinity. 0 or
 * NODUS_EIO / NODUS_ENOMEM.
 */
int topo_allowed_cpus(uint32_t **cpus, size_t *n);

/*
 * Resolves a cores specification against the allowed CPUs: "" (or NULL) means all of them.
 * On success *cpus (caller frees) holds the chosen OS CPU ids, ascending. On failure returns
 * NODUS_EINVAL with a message in err.
 */
int topo_resolve_cores(const char *spec, const uint32_t *allowed, size_t nallowed, uint32_t **cpus,
                       size_t *n, char *err, size_t errlen);

#endif
