/*
 * nodusctl: look at and administer a running nodusd.
 *
 *   nodusctl [--socket PATH] [--json] COMMAND [ARGS]
 *
 * Exit status: 0 success, 1 cannot connect or nodusd reported an error, 2 bad usage. Each
 * command is one entry in `commands`: it parses its own options and talks to nodusd through
 * ctl_conn, so new commands (jobs, top, drain, kill, trace) slot in beside status.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_conn.h"
#include "ctl_status.h"
#include "nodus.h"

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

static const ctl_command_t commands[] = {
    {"status", "[--json]", "cores, sessions and counters of the daemon", cmd_status},
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
        fprintf(out, "  %-8s %-10s %s\n", commands[i].name, commands[i].args, commands[i].help);
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

static int cmd_status(ctl_options_t *opt, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {0, 0, 0, 0},
    };
    int ch;
    optind = 0; /* glibc: re-initialise (new optstring, argv is the command's) */
    while ((ch = getopt_long(argc, argv, "jh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'j':
            opt->json = 1;
            break;
        case 'h':
            printf("usage: nodusctl [--socket PATH] status [--json]\n");
            return EXIT_OK;
        default:
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "nodusctl: status: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }

    ctl_conn_t conn;
    if (connect_daemon(opt, &conn) < 0) return EXIT_FAIL;
    char err[512];
    int rc = ctl_status(&conn, opt->json, stdout, err, sizeof err);
    ctl_conn_close(&conn);
    if (rc < 0) {
        fprintf(stderr, "nodusctl: %s\n", err);
        return EXIT_FAIL;
    }
    return finish_output(EXIT_OK);
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
