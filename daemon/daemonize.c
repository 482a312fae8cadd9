/*
 * Double-fork daemonization with a readiness pipe. The pipe carries one status byte (the exit
 * code for the waiting process) and then an optional message; EOF without a status byte means
 * the daemon died during start-up.
 */
#include "daemonize.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nodus.h"

static void write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR) continue;
            return;
        }
        p += w;
        len -= (size_t)w;
    }
}

/* The original process: relay the daemon's verdict. Never returns. */
static void wait_for_daemon(int rfd, pid_t child, const char *log_path)
{
    unsigned char status = 1;
    char msg[1024];
    size_t len = 0;
    int got_status = 0;
    for (;;) {
        char buf[256];
        ssize_t r = read(rfd, buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        size_t off = 0;
        if (!got_status) {
            status = (unsigned char)buf[0];
            got_status = 1;
            off = 1;
        }
        size_t take = (size_t)r - off;
        if (take > sizeof msg - 1 - len) take = sizeof msg - 1 - len;
        memcpy(msg + len, buf + off, take);
        len += take;
    }
    msg[len] = '\0';
    while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
        ;
    if (!got_status) {
        fprintf(stderr, "nodusd: the daemon exited during start-up%s%s%s\n",
                log_path ? " (see " : "", log_path ? log_path : "", log_path ? ")" : "");
        _exit(1);
    }
    if (len > 0) fprintf(stderr, "nodusd: %s\n", msg);
    _exit(status);
}

int daemonize_start(const char *log_path, int *ready_fd)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) return NODUS_EIO;
    fflush(NULL);
    pid_t child = fork();
    if (child < 0) {
        close(p[0]);
        close(p[1]);
        return NODUS_EIO;
    }
    if (child > 0) {
        close(p[1]);
        wait_for_daemon(p[0], child, log_path);
    }
    close(p[0]);
    if (setsid() < 0) _exit(1);
    pid_t grandchild = fork();
    if (grandchild < 0) _exit(1); /* the waiting process sees EOF without status: start-up failed */
    if (grandchild > 0) _exit(0);

    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    int log = log_path ? open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600) : -1;
    int out = log >= 0 ? log : null;
    if (null >= 0) dup2(null, STDIN_FILENO);
    if (out >= 0) {
        dup2(out, STDOUT_FILENO);
        dup2(out, STDERR_FILENO);
    }
    if (null > STDERR_FILENO) close(null);
    if (log > STDERR_FILENO) close(log);
    if (chdir("/") < 0) {
        /* harmless: only keeps the start directory busy */
    }
    *ready_fd = p[1];
    return 0;
}

void daemonize_ready(int ready_fd)
{
    if (ready_fd < 0) return;
    unsigned char ok = 0;
    write_all(ready_fd, &ok, 1);
    close(ready_fd);
}

void daemonize_fail(int ready_fd, int exit_code, const char *message)
{
    if (ready_fd < 0) return;
    unsigned char code = (unsigned char)exit_code;
    write_all(ready_fd, &code, 1);
    if (message) write_all(ready_fd, message, strlen(message));
    close(ready_fd);
}
