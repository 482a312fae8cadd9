/*
 * nodusd configuration: defaults, the INI file (libinih), NODUS_CONFIG_OVERRIDE and command-line
 * flags, applied in that order. No file is required. Loop thread only.
 *
 * File keys (section.key):
 *   daemon.socket      path of the listening socket
 *   daemon.cores       CPU list ("0-3,6") or a count ("4"); default: the process affinity set
 *   daemon.log_level   err|warning|notice|info|debug
 *   daemon.idle_exit   seconds with no client session before exiting (0 = never)
 *   daemon.drain_timeout_s  seconds a draining stop (SIGTERM, nodusctl drain) waits for clients
 *   daemon.admin_group group whose members may drain, kill sessions and trace ("" = root only)
 *   sched.default_weight, sched.max_weight, sched.reserve_after_ms
 *   sched.lookahead    tasks granted ahead per busy core to a session with short tasks (0 = off)
 *   sched.lookahead_max_us  "short": a session's average task time below this
 *   limits.max_sessions_per_user  client sessions of one uid (0 = no limit)
 *   limits.max_outstanding_tasks  tasks of one uid accepted and not complete (back-pressure)
 *   limits.max_message_bytes      largest frame a peer may send (new connections)
 *   devices.cuda, devices.opencl   yes|no: discover that backend (docs/devices.md)
 *   devices.allow      comma list of daemon device indices or name substrings; "" = all
 *   devices.slots      streams / queues per device
 *   devices.max_in_flight, devices.max_in_flight_per_session   tasks in flight per device
 *   devices.opencl_cpu_cores   cores held for a CPU OpenCL device (0 = half the daemon's)
 *   trace.enabled      yes|no: record a trace from start-up (nodusctl trace start|stop)
 *   trace.capacity     events the trace ring holds (the oldest are overwritten)
 *
 * On SIGHUP the daemon loads the configuration again and applies what can change while it runs
 * (config_apply_live); socket, cores and devices.* take effect after a restart.
 */
#ifndef NODUS_CONFIG_H
#define NODUS_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct nodus_config {
    char socket_path[108]; /* sun_path size */
    char cores[256];       /* as given; "" = affinity set */
    int log_level;
    unsigned idle_exit_s;
    unsigned drain_timeout_s; /* 0 = no drain: stop at once */
    char admin_group[64];     /* group name; "" = root only */
    uint32_t default_weight;
    uint32_t max_weight;
    unsigned reserve_after_ms;
    unsigned lookahead;        /* sched_config.lookahead */
    unsigned lookahead_max_us; /* sched_config.lookahead_max_ns, in microseconds */
    unsigned max_sessions_per_user;
    uint64_t max_outstanding_tasks; /* per user */
    unsigned max_message_bytes;     /* frame payload limit for input */
    unsigned devices_cuda;          /* 1 = discover CUDA devices */
    unsigned devices_opencl;        /* 1 = discover OpenCL devices */
    char devices_allow[256];        /* as given; "" = every device found */
    unsigned devices_slots;
    unsigned devices_max_in_flight;
    unsigned devices_max_per_session;
    unsigned devices_opencl_cpu_cores; /* 0 = default (half the cores, 1 .. cores - 1) */
    unsigned trace_enabled;            /* 1 = record a trace from start-up */
    unsigned trace_capacity;           /* events in the trace ring */
} nodus_config_t;

/* Fills built-in defaults (socket_path left empty: resolved later by the daemon). */
void config_defaults(nodus_config_t *c);
/*
 * Loads an INI file over *c. A missing file is not an error when `optional` is set. Returns 0,
 * or NODUS_EINVAL with a message in err (line number and key) for a bad file.
 */
int config_load_file(nodus_config_t *c, const char *path, int optional, char *err, size_t errlen);
/* Applies "section.key=value,section.key=value" over *c; NODUS_EINVAL with err on a bad entry. */
int config_apply_overrides(nodus_config_t *c, const char *list, char *err, size_t errlen);
/* Sets one key; NODUS_EINVAL for an unknown key or bad value. */
int config_set(nodus_config_t *c, const char *section, const char *key, const char *value);
/*
 * Reload: copies into *cur the keys of `next` that can change while the daemon runs, and keeps
 * the others. The "section.key" names of the keys that changed are written comma-separated to
 * `applied` and, for those that need a restart (socket, cores, devices.*), to `restart` ("" when
 * none). Returns the number of keys that need a restart.
 */
int config_apply_live(nodus_config_t *cur, const nodus_config_t *next, char *applied,
                      size_t applied_len, char *restart, size_t restart_len);
/* Writes the effective configuration as an INI file (nodusd --print-config). */
void config_print(const nodus_config_t *c, FILE *out);

#endif
