/*
 * nodusctl: look at and administer a running nodusd.
 *
 *   nodusctl [--socket PATH] [--json] COMMAND [ARGS]
 *
 * Exit status: 0 success, 1 cannot connect or nodusd reported an error (a refused admin request,
 * NODUS_EPERM, included), 2 bad usage. Each command is one entry in `commands`: it parses its own
 * options and talks to nodusd through ctl_conn.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <limits.h>

#include "ctl_admin.h"
#include "ctl_conn.h"
#include "ctl_jobs.h"
#include "ctl_status.h"
#include "ctl_top.h"
#include "nodus.h"
#include "nodus_limits.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

typedef struct ctl_options {
    const char *socket_path; /* --socket, or NULL for discovery */
    int json;                /* --json */
} ctl_options_t;

typedef struct ctl_command {
    const char *name;
    const char *args; /* usage after the name */
    const char *help;
    int (*run)(ctl_options_t *opt, int argc, char **argv); /* returns an exit status */
} ctl_command_t;

static int cmd_status(ctl_options_t *opt, int argc, char **argv);
static int cmd_jobs(ctl_options_t *opt, int argc, char **argv);
static int cmd_top(ctl_options_t *opt, int argc, char **argv);
static int cmd_drain(ctl_options_t *opt, int argc, char **argv);
static int cmd_kill(ctl_options_t *opt, int argc, char **argv);
static int cmd_trace(ctl_options_t *opt, int argc, char **argv);

static const ctl_command_t commands[] = {
    {"status", "[--json]", "cores, sessions and counters of the daemon", cmd_status},
    {"jobs", "[--json]", "fair-share jobs: sessions, weight, tasks, core-time share", cmd_jobs},
    {"top", "[--iterations N] [--interval SECS]", "live view (q to quit)", cmd_top},
    {"drain", "[--json]", "stop nodusd once its clients are done (admin)", cmd_drain},
    {"kill", "SESSION [--json]", "close a session at once (admin)", cmd_kill},
    {"trace", "start [--capacity N] | stop FILE", "record a trace, write it as JSON (admin)",
     cmd_trace},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out)
{
    fprintf(out, "usage: nodusctl [--socket PATH] [--json] COMMAND [ARGS]\n"
                 "\n"
                 "options:\n"
                 "  -s, --socket PATH  nodusd socket (default: $NODUS_SOCKET, then\n"
                 "                     /run/nodus/nodusd.sock, then the per-user daemon's)\n"
                 "  -j, --json         machine-readable output\n"
                 "  -h, --help         this help\n"
                 "  -V, --version      nodusctl's version\n"
                 "\n"
                 "commands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-6s %-34s %s\n", commands[i].name, commands[i].args, commands[i].help);
}

/* Opens the connection every command needs; prints why not on failure. */
static int connect_daemon(const ctl_options_t *opt, ctl_conn_t *conn)
{
    char path[108], err[512];
    if (ctl_socket_path(opt->socket_path, path, sizeof path) < 0) {
        fprintf(stderr, "nodusctl: socket path too long\n");
        return -1;
    }
    if (ctl_conn_open(conn, path, err, sizeof err) < 0) {
        fprintf(stderr, "nodusctl: %s\n", err);
        return -1;
    }
    return 0;
}

/* Ends a command's output: a failed write to stdout (full disk, closed pipe) is a failure. */
static int finish_output(int status)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "nodusctl: cannot write output\n");
        return EXIT_FAIL;
    }
    return status;
}

/* One command-specific option: its long name, whether it takes a value, and where it goes. */
typedef struct cmd_option {
    const char *name;
    const char **value; /* NULL: --json-like flag (unused), else the argument */
} cmd_option_t;

/*
 * Parses a command's options: --json, --help, and `extra` (each taking a value), then expects
 * between min_args and max_args positional arguments, left in argv[*first...] (options may come
 * after them: "kill 5 --json"). Returns -1 to go on, or an exit status (help, or bad usage).
 */
static int parse_command(ctl_options_t *opt, int argc, char **argv, const char *usage_line,
                         const cmd_option_t *extra, size_t nextra, int min_args, int max_args,
                         int *first)
{
    struct option longopts[8] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
    };
    size_t n = 2;
    for (size_t i = 0; i < nextra && n < 7; i++, n++)
        longopts[n] = (struct option){extra[i].name, required_argument, NULL, 256 + (int)i};
    longopts[n] = (struct option){0, 0, 0, 0};
    int ch;
    optind = 0; /* glibc: re-initialise (new optstring, argv is the command's) */
    while ((ch = getopt_long(argc, argv, "jh", longopts, NULL)) != -1) {
        if (ch == 'j') {
            opt->json = 1;
        } else if (ch == 'h') {
            printf("usage: nodusctl [--socket PATH] %s\n", usage_line);
            return EXIT_OK;
        } else if (ch >= 256 && (size_t)(ch - 256) < nextra) {
            *extra[ch - 256].value = optarg;
        } else {
            return EXIT_USAGE;
        }
    }
    int nargs = argc - optind; /* getopt moved the options before them */
    if (nargs < min_args || nargs > max_args) {
        if (nargs > max_args)
            fprintf(stderr, "%s: unexpected argument '%s'\n", argv[0], argv[optind + max_args]);
        else
            fprintf(stderr, "%s: missing argument\nusage: nodusctl %s\n", argv[0], usage_line);
        return EXIT_USAGE;
    }
    *first = optind;
    return -1;
}

/* A decimal number in [min, max]; -1 when it is not one. */
static long long parse_number(const char *s, long long min, long long max)
{
    if (!s || !*s || *s == '-' || *s == '+') return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max) return -1;
    return v;
}

/* The end of a command that talked to nodusd: its error, or the output flushed. */
static int finish(int rc, const char *err)
{
    if (rc < 0) {
        fprintf(stderr, "nodusctl: %s\n", err);
        fflush(stdout);
        return EXIT_FAIL;
    }
    return finish_output(EXIT_OK);
}

static int cmd_status(ctl_options_t *opt, int argc, char **argv)
{
    int first, st = parse_command(opt, argc, argv, "status [--json]", NULL, 0, 0, 0, &first);
    if (st >= 0) return st;
    ctl_conn_t conn;
    if (connect_daemon(opt, &conn) < 0) return EXIT_FAIL;
    char err[512];
    int rc = ctl_status(&conn, opt->json, stdout, err, sizeof err);
    ctl_conn_close(&conn);
    return finish(rc, err);
}

static int cmd_jobs(ctl_options_t *opt, int argc, char **argv)
{
    int first, st = parse_command(opt, argc, argv, "jobs [--json]", NULL, 0, 0, 0, &first);
    if (st >= 0) return st;
    ctl_conn_t conn;
    if (connect_daemon(opt, &conn) < 0) return EXIT_FAIL;
    char err[512];
    int rc = ctl_jobs(&conn, opt->json, stdout, err, sizeof err);
    ctl_conn_close(&conn);
    return finish(rc, err);
}

static int cmd_top(ctl_options_t *opt, int argc, char **argv)
{
    const char *iterations = NULL, *interval = NULL;
    const cmd_option_t extra[] = {{"iterations", &iterations}, {"interval", &interval}};
    int first, st = parse_command(opt, argc, argv, "top [--iterations N] [--interval SECS]", extra,
                                  2, 0, 0, &first);
    if (st >= 0) return st;
    long long n = iterations ? parse_number(iterations, 1, INT_MAX) : 0;
    double secs = interval ? strtod(interval, NULL) : 1.0;
    if (n < 0 || !(secs >= 0.05 && secs <= 3600)) {
        fprintf(stderr, "nodusctl top: --iterations takes a count >= 1, --interval 0.05-3600 s\n");
        return EXIT_USAGE;
    }
    ctl_conn_t conn;
    if (connect_daemon(opt, &conn) < 0) return EXIT_FAIL;
    char err[512];
    int rc = ctl_top(&conn, (unsigned)n, (unsigned)(secs * 1000), stdout, err, sizeof err);
    ctl_conn_close(&conn);
    return finish(rc, err);
}

static int cmd_drain(ctl_options_t *opt, int argc, char **argv)
{
    int first, st = parse_command(opt, argc, argv, "drain [--json]", NULL, 0, 0, 0, &first);
    if (st >= 0) return st;
    ctl_conn_t conn;
    if (connect_daemon(opt, &conn) < 0) return EXIT_FAIL;
    char err[512];
    int rc = ctl_drain(&conn, opt->json, stdout, err, sizeof err);
    ctl_conn_close(&conn);
    return finish(rc, err);
}

static int cmd_kill(ctl_options_t *opt, int argc, char **argv)
{
    int first, st = parse_command(opt, argc, argv, "kill SESSION [--json]", NULL, 0, 1, 1, &first);
    if (st >= 0) return st;
    long long id = parse_number(argv[first], 1, LLONG_MAX);
    if (id < 0) {
        fprintf(stderr, "nodusctl kill: '%s' is not a session id (see nodusctl status)\n",
                argv[first]);
        return EXIT_USAGE;
    }
    ctl_conn_t conn;
    if (connect_daemon(opt, &conn) < 0) return EXIT_FAIL;
    char err[512];
    int rc = ctl_kill(&conn, (uint64_t)id, opt->json, stdout, err, sizeof err);
    ctl_conn_close(&conn);
    return finish(rc, err);
}

static int cmd_trace(ctl_options_t *opt, int argc, char **argv)
{
    static const char usage_line[] = "trace start [--capacity EVENTS] | trace stop FILE";
    const char *capacity = NULL;
    const cmd_option_t extra[] = {{"capacity", &capacity}};
    int first, st = parse_command(opt, argc, argv, usage_line, extra, 1, 1, 2, &first);
    if (st >= 0) return st;
    const char *what = argv[first];
    int start = strcmp(what, "start") == 0, stop = strcmp(what, "stop") == 0;
    int nargs = argc - first;
    if ((!start && !stop) || (start && nargs != 1) || (stop && nargs != 2) || (stop && capacity)) {
        fprintf(stderr, "usage: nodusctl %s\n", usage_line);
        return EXIT_USAGE;
    }
    long long cap = capacity ? parse_number(capacity, 1, NODUS_MAX_TRACE_EVENTS) : 0;
    if (cap < 0) {
        fprintf(stderr, "nodusctl trace: --capacity takes 1-%u events\n", NODUS_MAX_TRACE_EVENTS);
        return EXIT_USAGE;
    }
    ctl_conn_t conn;
    if (connect_daemon(opt, &conn) < 0) return EXIT_FAIL;
    char err[512];
    int rc = start ? ctl_trace_start(&conn, (uint32_t)cap, opt->json, stdout, err, sizeof err)
                   : ctl_trace_stop(&conn, argv[first + 1], opt->json, stdout, err, sizeof err);
    ctl_conn_close(&conn);
    return finish(rc, err);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"socket", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {0, 0, 0, 0},
    };
    ctl_options_t opt = {0};
    int ch;
    /* '+': stop at the command name; what follows is the command's to parse */
    while ((ch = getopt_long(argc, argv, "+s:jhV", longopts, NULL)) != -1) {
        switch (ch) {
        case 's':
            opt.socket_path = optarg;
            break;
        case 'j':
            opt.json = 1;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        case 'V':
            printf("nodusctl %s\n", nodus_version());
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[optind];
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(commands[i].name, name) == 0) {
            static char prog[64]; /* getopt's messages then say "nodusctl status: ..." */
            snprintf(prog, sizeof prog, "nodusctl %s", name);
            argv[optind] = prog;
            return commands[i].run(&opt, argc - optind, argv + optind);
        }
    }
    fprintf(stderr, "nodusctl: unknown command '%s'\n", name);
    usage(stderr);
    return EXIT_USAGE;
}
