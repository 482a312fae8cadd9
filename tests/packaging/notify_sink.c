/*
 * notify_sink: stands in for systemd's notification socket in tests. Binds a datagram socket at
 * PATH and prints every sd_notify() message it receives, one assignment per line, until it has
 * seen a line equal to UNTIL (or SECONDS pass: exit 1).
 *
 *   notify_sink PATH UNTIL SECONDS
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: notify_sink PATH UNTIL SECONDS\n");
        return 2;
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(argv[1]) >= sizeof sa.sun_path) {
        fprintf(stderr, "notify_sink: path too long\n");
        return 2;
    }
    strcpy(sa.sun_path, argv[1]);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        perror("notify_sink: socket");
        return 1;
    }
    double deadline = now() + atof(argv[3]);
    char buf[4096];
    for (;;) {
        double left = deadline - now();
        if (left <= 0) break;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)(left * 1000) + 1) <= 0) continue;
        ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
        if (n < 0) continue;
        buf[n] = '\0';
        int done = 0;
        for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
            printf("%s\n", line);
            if (strcmp(line, argv[2]) == 0) done = 1;
        }
        fflush(stdout);
        if (done) return 0;
    }
    fprintf(stderr, "notify_sink: no '%s' within %s s\n", argv[2], argv[3]);
    return 1;
}
