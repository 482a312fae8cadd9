/*
 * nodusd: command line, configuration, start-up and the loop.
 *
 * Start-up order matters: everything that can fail for a reason the user should see (options,
 * configuration, cores, socket directory) is checked before --daemonize forks, so the message
 * reaches the terminal; binding happens in the daemon itself, which reports readiness (or the
 * bind failure) through the daemonize pipe. After start-up the daemon does not exit on errors:
 * faults are contained to the session that caused them. SIGINT/SIGTERM drain it and it exits
 * with status 0; SIGHUP reloads the configuration (service.c), through load_config() again.
 */
#include <errno.h>
#include <stddef.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#ifdef NODUS_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "config.h"
#include "cpulist.h"
#include "daemon.h"
#include "daemonize.h"
#include "devices.h"
#include "log.h"
#include "nodus.h"
#include "nodus_limits.h"
#include "notify.h"
#include "server.h"
#include "topo.h"
#include "trace.h"

#define SYSTEM_SOCKET "/run/nodus/nodusd.sock"
#define SYSTEM_CONFIG "/etc/nodus/nodusd.conf"

typedef struct options {
    const char *socket;
    const char *cores;
    const char *config;
    const char *log_level;
    const char *idle_exit;
    int foreground;
    int daemonize;
    int print_config;
    int list_devices;
} options_t;

enum {
    OPT_IDLE_EXIT = 256,
    OPT_PRINT_CONFIG,
    OPT_LIST_DEVICES,
};

static const struct option long_options[] = {
    {"socket", required_argument, NULL, 's'},
    {"cores", required_argument, NULL, 'c'},
    {"foreground", no_argument, NULL, 'f'},
    {"daemonize", no_argument, NULL, 'd'},
    {"config", required_argument, NULL, 'C'},
    {"log-level", required_argument, NULL, 'l'},
    {"idle-exit", required_argument, NULL, OPT_IDLE_EXIT},
    {"print-config", no_argument, NULL, OPT_PRINT_CONFIG},
    {"list-devices", no_argument, NULL, OPT_LIST_DEVICES},
    {"version", no_argument, NULL, 'V'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: nodusd [OPTION]...\n"
            "The nodus node scheduler daemon: owns this node's cores and runs the task graphs\n"
            "that applications linked with libnodus submit.\n"
            "\n"
            "  -s, --socket PATH      listen on PATH (default: $NODUS_SOCKET, else\n"
            "                         " SYSTEM_SOCKET " as root, else\n"
            "                         $XDG_RUNTIME_DIR/nodus/nodusd.sock or\n"
            "                         /tmp/nodus-$UID/nodusd.sock)\n"
            "  -c, --cores LIST|N     CPUs to manage: a list (\"0-3,6\") inside the affinity\n"
            "                         set, or a count N (its first N CPUs); default: all of it\n"
            "  -f, --foreground       stay in the foreground (the default)\n"
            "  -d, --daemonize        detach; exit 0 once the socket is listening\n"
            "  -C, --config FILE      configuration file (default: $NODUS_CONFIG, else\n"
            "                         " SYSTEM_CONFIG " if present)\n"
            "  -l, --log-level LVL    err, warning, notice, info or debug\n"
            "      --idle-exit SECS   exit after SECS seconds without any session\n"
            "      --print-config     print the effective configuration and exit\n"
            "      --list-devices     print the devices nodusd would own (CUDA, OpenCL) and exit\n"
            "  -V, --version          print the version and exit\n"
            "  -h, --help             print this help and exit\n"
            "\n"
            "Environment: NODUS_SOCKET, NODUS_CONFIG, NODUS_CONFIG_OVERRIDE\n"
            "(\"section.key=value,...\"), NODUS_TRACE_GRANTS=FILE (grant trace for tests),\n"
            "NODUS_NO_DEVICES=1 (own no CUDA or OpenCL device).\n");
}

static int parse_options(int argc, char **argv, options_t *o)
{
    int c;
    while ((c = getopt_long(argc, argv, "s:c:fdC:l:Vh", long_options, NULL)) != -1) {
        switch (c) {
        case 's':
            o->socket = optarg;
            break;
        case 'c':
            o->cores = optarg;
            break;
        case 'f':
            o->foreground = 1;
            break;
        case 'd':
            o->daemonize = 1;
            break;
        case 'C':
            o->config = optarg;
            break;
        case 'l':
            o->log_level = optarg;
            break;
        case OPT_IDLE_EXIT:
            o->idle_exit = optarg;
            break;
        case OPT_PRINT_CONFIG:
            o->print_config = 1;
            break;
        case OPT_LIST_DEVICES:
            o->list_devices = 1;
            break;
        case 'V':
            printf("nodusd %s (protocol %u-%u)\n", nodus_version(), NODUS_PROTO_VERSION_MIN,
                   NODUS_PROTO_VERSION_MAX);
            exit(0);
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "nodusd: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return -1;
    }
    if (o->foreground && o->daemonize) {
        fprintf(stderr, "nodusd: --foreground and --daemonize exclude each other\n");
        return -1;
    }
    return 0;
}

/*
 * Defaults, file, NODUS_CONFIG_OVERRIDE, then flags. Returns 0 or -1 with the reason in msg. At
 * start-up, and again on every reload (SIGHUP), so the flags keep winning over the file.
 */
static int load_config(const options_t *o, nodus_config_t *cfg, char *msg, size_t msglen)
{
    char err[256] = "";
    config_defaults(cfg);
    const char *file = o->config;
    int optional = 0;
    if (!file || !file[0]) {
        file = getenv("NODUS_CONFIG");
        if (!file || !file[0]) {
            file = SYSTEM_CONFIG;
            optional = 1;
        }
    }
    if (config_load_file(cfg, file, optional, err, sizeof err) < 0) {
        /* config_load_file's messages name the file already */
        snprintf(msg, msglen, "%s", err[0] ? err : "bad configuration");
        return -1;
    }
    const char *over = getenv("NODUS_CONFIG_OVERRIDE");
    if (over && over[0] && config_apply_overrides(cfg, over, err, sizeof err) < 0) {
        snprintf(msg, msglen, "NODUS_CONFIG_OVERRIDE: %s", err[0] ? err : "bad entry");
        return -1;
    }
    static const struct {
        size_t offset;
        const char *key;
        const char *flag;
    } flags[] = {
        {offsetof(options_t, cores), "cores", "--cores"},
        {offsetof(options_t, log_level), "log_level", "--log-level"},
        {offsetof(options_t, idle_exit), "idle_exit", "--idle-exit"},
    };
    if (o->socket) {
        /* the configuration holds absolute paths; a relative flag is relative to here */
        char abs[PATH_MAX], cwd[PATH_MAX];
        if (o->socket[0] == '/' || !getcwd(cwd, sizeof cwd))
            snprintf(abs, sizeof abs, "%s", o->socket);
        else if ((size_t)snprintf(abs, sizeof abs, "%s/%s", cwd, o->socket) >= sizeof abs)
            abs[0] = '\0';
        if (config_set(cfg, "daemon", "socket", abs) < 0) {
            snprintf(msg, msglen, "bad value for --socket: '%s' (at most %zu bytes)", o->socket,
                     sizeof cfg->socket_path - 1);
            return -1;
        }
    }
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        const char *v = *(const char *const *)((const char *)o + flags[i].offset);
        if (v && config_set(cfg, "daemon", flags[i].key, v) < 0) {
            snprintf(msg, msglen, "bad value for %s: '%s'", flags[i].flag, v);
            return -1;
        }
    }
    return 0;
}

/* The reload loader (daemon_config_loader_t): the same options as at start-up. */
static int reload_config(void *ctx, nodus_config_t *cfg, char *err, size_t errlen)
{
    return load_config(ctx, cfg, err, errlen) < 0 ? NODUS_EINVAL : 0;
}

/*
 * Fills cfg->socket_path when neither flag nor file set it; *private_dir tells whether it is
 * the per-user default location (whose directory must be this user's own). Relative paths are
 * made absolute (the daemon changes directory). Returns 0 or -1 (message printed).
 */
static int resolve_socket(nodus_config_t *cfg, int *private_dir)
{
    char path[PATH_MAX];
    *private_dir = 0;
    if (cfg->socket_path[0]) {
        snprintf(path, sizeof path, "%s", cfg->socket_path);
    } else {
        const char *env = getenv("NODUS_SOCKET");
        const char *xdg = getenv("XDG_RUNTIME_DIR");
        if (env && env[0]) {
            snprintf(path, sizeof path, "%s", env);
        } else if (geteuid() == 0) {
            snprintf(path, sizeof path, "%s", SYSTEM_SOCKET);
        } else if (xdg && xdg[0] == '/') {
            snprintf(path, sizeof path, "%s/nodus/nodusd.sock", xdg);
            *private_dir = 1;
        } else {
            snprintf(path, sizeof path, "/tmp/nodus-%u/nodusd.sock", (unsigned)geteuid());
            *private_dir = 1;
        }
    }
    if (path[0] != '/') {
        char cwd[PATH_MAX], abs[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd)) {
            fprintf(stderr, "nodusd: cannot resolve %s: %s\n", path, strerror(errno));
            return -1;
        }
        if ((size_t)snprintf(abs, sizeof abs, "%s/%s", cwd, path) >= sizeof abs) {
            fprintf(stderr, "nodusd: socket path too long: %s/%s\n", cwd, path);
            return -1;
        }
        snprintf(path, sizeof path, "%s", abs);
    }
    if (strlen(path) >= sizeof cfg->socket_path) {
        fprintf(stderr, "nodusd: socket path too long (at most %zu bytes): %s\n",
                sizeof cfg->socket_path - 1, path);
        return -1;
    }
    memcpy(cfg->socket_path, path, strlen(path) + 1); /* fits: checked above */
    return 0;
}

/* The log file of a daemonized nodusd: next to its socket. */
static void log_path_for(const char *sock, char *buf, size_t len)
{
    snprintf(buf, len, "%s", sock);
    char *slash = strrchr(buf, '/');
    if (slash)
        snprintf(slash + 1, len - (size_t)(slash + 1 - buf), "nodusd.log");
    else
        snprintf(buf, len, "nodusd.log");
}

/* A listening fd handed over by systemd socket activation, or -1. */
static int activated_fd(void)
{
#ifdef NODUS_HAVE_SYSTEMD
    char **names = NULL;
    int n = sd_listen_fds_with_names(1, &names);
    if (names) {
        for (char **p = names; *p; p++)
            free(*p);
        free(names);
    }
    if (n <= 0) return -1;
    if (n > 1) LOG(LOG_WARNING, "daemon", 0, "%d sockets passed by systemd; using the first", n);
    return SD_LISTEN_FDS_START;
#else
    return -1;
#endif
}

static void close_walk_cb(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h)) uv_close(h, NULL);
}

/* Closes whatever is left and the loop; logs a leak instead of failing the exit. */
static void finish_loop(uv_loop_t *loop)
{
    uv_walk(loop, close_walk_cb, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    int rc = uv_loop_close(loop);
    if (rc != 0) LOG(LOG_ERR, "daemon", 0, "event loop still busy at exit: %s", uv_strerror(rc));
}

int main(int argc, char **argv)
{
    options_t opt = {0};
    nodus_config_t cfg;
    int private_dir = 0;
    char err[512] = "";

    if (parse_options(argc, argv, &opt) < 0) return 2;
    if (load_config(&opt, &cfg, err, sizeof err) < 0) {
        fprintf(stderr, "nodusd: %s\n", err);
        return 1;
    }
    /* a relative --socket is resolved against this directory once, not at each reload */
    static char socket_abs[sizeof cfg.socket_path];
    if (opt.socket) {
        snprintf(socket_abs, sizeof socket_abs, "%s", cfg.socket_path);
        opt.socket = socket_abs;
    }
    log_set_level(opt.list_devices && !opt.log_level ? LOG_WARNING : cfg.log_level);
    int listen_fd = opt.list_devices ? -1 : activated_fd();
    if (listen_fd < 0 && resolve_socket(&cfg, &private_dir) < 0) return 1;
    if (opt.print_config) {
        config_print(&cfg, stdout);
        return 0;
    }

    uint32_t *allowed = NULL, *cpus = NULL;
    size_t nallowed = 0, ncpus = 0;
    if (topo_allowed_cpus(&allowed, &nallowed) < 0) {
        fprintf(stderr, "nodusd: cannot read this process's CPU affinity\n");
        return 1;
    }
    int rc = topo_resolve_cores(cfg.cores, allowed, nallowed, &cpus, &ncpus, err, sizeof err);
    free(allowed);
    if (rc < 0) {
        fprintf(stderr, "nodusd: --cores: %s\n", err);
        return 1;
    }
    devices_t devices;
    if (opt.list_devices) {
        rc = devices_discover(&devices, &cfg, cpus, ncpus);
        if (rc == 0) devices_print(&devices, stdout);
        devices_free(&devices);
        free(cpus);
        return rc == 0 ? 0 : 1;
    }
    if (listen_fd < 0 && server_prepare_dir(cfg.socket_path, private_dir, err, sizeof err) < 0) {
        fprintf(stderr, "nodusd: %s\n", err);
        free(cpus);
        return 1;
    }
    trace_t *trace = NULL;
    const char *trace_path = getenv("NODUS_TRACE_GRANTS");
    if (trace_path && trace_path[0]) {
        trace = trace_open(trace_path);
        if (!trace) {
            fprintf(stderr, "nodusd: cannot open NODUS_TRACE_GRANTS=%s: %s\n", trace_path,
                    strerror(errno));
            free(cpus);
            return 1;
        }
    }

    int ready_fd = -1;
    if (opt.daemonize) {
        char log_path[PATH_MAX];
        log_path_for(cfg.socket_path, log_path, sizeof log_path);
        if (daemonize_start(log_path, &ready_fd) < 0) {
            fprintf(stderr, "nodusd: cannot fork: %s\n", strerror(errno));
            trace_close(trace);
            free(cpus);
            return 1;
        }
    }
    signal(SIGPIPE, SIG_IGN); /* a peer that vanishes is an EPIPE, not a dead daemon */

    /* in the daemon process (after the fork), before the loop and any thread exist: OpenCL
     * discovery forks a child of its own, and CUDA must be initialised where it is used */
    if (devices_discover(&devices, &cfg, cpus, ncpus) < 0) {
        daemonize_fail(ready_fd, 1, "out of memory discovering devices");
        if (ready_fd < 0) fprintf(stderr, "nodusd: out of memory discovering devices\n");
        trace_close(trace);
        free(cpus);
        return 1;
    }

    uv_loop_t loop;
    daemon_t d;
    server_t srv;
    int running = 0;
    if (uv_loop_init(&loop) < 0) {
        daemonize_fail(ready_fd, 1, "cannot create the event loop");
        if (ready_fd < 0) fprintf(stderr, "nodusd: cannot create the event loop\n");
        trace_close(trace);
        devices_free(&devices);
        free(cpus);
        return 1;
    }
    rc = daemon_init(&d, &loop, &cfg, cpus, ncpus, &devices); /* takes cpus and devices */
    d.trace = trace;
    d.load_config = reload_config;
    d.load_ctx = &opt;
    if (rc < 0)
        snprintf(err, sizeof err, "cannot set up the scheduler: %s", nodus_strerror(rc));
    else if (listen_fd >= 0)
        rc = server_listen_fd(&srv, &d, listen_fd, err, sizeof err);
    else
        rc = server_listen_path(&srv, &d, cfg.socket_path, &running, err, sizeof err);
    if (rc < 0) {
        /* autostart losing a race to another autostart is success: the daemon is there */
        int exit_code = running && opt.daemonize ? 0 : 1;
        LOG(running ? LOG_NOTICE : LOG_ERR, "daemon", 0, "%s", err);
        if (ready_fd >= 0)
            daemonize_fail(ready_fd, exit_code, err);
        else if (!log_enabled(running ? LOG_NOTICE : LOG_ERR))
            fprintf(stderr, "nodusd: %s\n", err);
        finish_loop(&loop);
        daemon_free(&d);
        return exit_code;
    }

    char cores[256];
    cpulist_format(d.cpus, d.ncores, cores, sizeof cores);
    LOG(LOG_INFO, "daemon", 0, "nodusd %s pid %ld listening on %s%s, %zu cores (%s), %zu devices",
        nodus_version(), (long)getpid(), srv.path[0] ? srv.path : "an inherited socket",
        listen_fd >= 0 ? " (socket activation)" : "", d.ncores, cores, d.devices.n);
    notify_ready(&d);
    daemonize_ready(ready_fd);

    uv_run(&loop, UV_RUN_DEFAULT);

    notify_send("STOPPING=1");
    server_close(&srv);
    finish_loop(&loop);
    LOG(LOG_INFO, "daemon", 0, "exiting: %llu sessions, %llu tasks done, %llu dropped",
        (unsigned long long)d.counters.sessions_total, (unsigned long long)d.counters.tasks_done,
        (unsigned long long)d.counters.sessions_dropped);
    daemon_free(&d);
    return 0;
}
