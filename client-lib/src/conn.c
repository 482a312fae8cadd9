/*
 * Connection set-up: discovery, autostart of a per-user daemon, handshake.
 *
 * Discovery follows ARCHITECTURE.md decision 8. A per-user daemon is started the way tmux starts
 * its server: posix_spawn (never fork, the host may be multi-threaded) of
 * `nodusd --socket PATH --daemonize --idle-exit 30`, whose first process exits 0 once the socket
 * listens. Two clients racing to start one is fine: the daemon's lock file lets one win and the
 * loser exits 0, and both clients then connect.
 */
#include "conn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "nodus_limits.h"
#include "validate.h"

extern char **environ;

#define SYSTEM_SOCKET        "/run/nodus/nodusd.sock"
#define HANDSHAKE_TIMEOUT_MS 10000
#define AUTOSTART_TIMEOUT_MS 5000
#define MAX_CPU_ID           65535u /* bounds the CPU-id -> worker map */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* One connect attempt; on failure *why holds errno (ENOENT/ECONNREFUSED: nobody listens). */
static int socket_connect(const char *path, int *fd_out, int *why)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof sa.sun_path) {
        *why = ENAMETOOLONG;
        return NODUS_EINVAL;
    }
    memcpy(sa.sun_path, path, len + 1);
    for (;;) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            *why = errno;
            return NODUS_ECONNECT;
        }
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
            *fd_out = fd;
            return 0;
        }
        int e = errno;
        close(fd);
        if (e == EINTR) continue;
        *why = e;
        return e == EACCES || e == EPERM ? NODUS_EPERM : NODUS_ECONNECT;
    }
}

static int nobody_listens(int why)
{
    return why == ENOENT || why == ECONNREFUSED;
}

/* The nodusd binary to start: $NODUS_DAEMON, the installed one, the build tree's, or PATH. */
static const char *daemon_binary(void)
{
    const char *env = getenv("NODUS_DAEMON");
    if (env && *env) return env;
#ifdef NODUSD_PATH
    if (access(NODUSD_PATH, X_OK) == 0) return NODUSD_PATH;
#endif
#ifdef NODUSD_BUILD_PATH
    if (access(NODUSD_BUILD_PATH, X_OK) == 0) return NODUSD_BUILD_PATH;
#endif
    return "nodusd";
}

/* Spawns `nodusd --socket path --daemonize` and waits for its first process to exit. */
static int spawn_daemon(const char *path)
{
    const char *bin = daemon_binary();
    char *argv[] = {(char *)bin,           (char *)"--socket", (char *)path, (char *)"--daemonize",
                    (char *)"--idle-exit", (char *)"30",       NULL};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    if (posix_spawn_file_actions_init(&fa) != 0) return NODUS_ESPAWN;
    if (posix_spawnattr_init(&attr) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return NODUS_ESPAWN;
    }
    /* stdin/stdout are not the daemon's business; stderr stays so a failed start is visible
     * (the daemon detaches from it once it runs). Host descriptors never leak into it. */
    int ok = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0) == 0 &&
             posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0) == 0;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    ok = ok && posix_spawn_file_actions_addclosefrom_np(&fa, 3) == 0;
#endif
    /* the host's blocked or ignored signals must not become the daemon's */
    sigset_t none, dfl;
    sigemptyset(&none);
    sigemptyset(&dfl);
    const int reset[] = {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2};
    for (size_t i = 0; i < sizeof reset / sizeof reset[0]; i++)
        sigaddset(&dfl, reset[i]);
    ok = ok && posix_spawnattr_setsigmask(&attr, &none) == 0 &&
         posix_spawnattr_setsigdefault(&attr, &dfl) == 0 &&
         posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF) == 0;
    pid_t pid = -1;
    int rc = NODUS_ESPAWN;
    if (ok) {
        int e = strchr(bin, '/') ? posix_spawn(&pid, bin, &fa, &attr, argv, environ)
                                 : posix_spawnp(&pid, bin, &fa, &attr, argv, environ);
        rc = e == 0 ? 0 : NODUS_ESPAWN;
    }
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    if (rc < 0) return rc;

    int status = 0;
    for (;;) {
        if (waitpid(pid, &status, 0) == pid) break;
        if (errno == EINTR) continue;
        /* ECHILD: the host reaps children itself (SIGCHLD ignored); judge by connecting */
        return 0;
    }
    /* a non-zero exit may still mean another client's daemon won the race and listens */
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

/* Connects to `path`, starting a daemon there first if nobody listens. */
static int connect_or_start(const char *path, int *fd)
{
    int why = 0;
    int rc = socket_connect(path, fd, &why);
    if (rc == 0 || !nobody_listens(why)) return rc;
    if (getenv("NODUS_NO_AUTOSTART")) return NODUS_ECONNECT;
    int started = spawn_daemon(path);
    if (started < 0) return started;
    uint64_t deadline = now_ms() + AUTOSTART_TIMEOUT_MS;
    unsigned pause = 5;
    for (;;) {
        rc = socket_connect(path, fd, &why);
        if (rc == 0) return 0;
        /* exit 0 means listening (ours or a racing client's); keep trying only briefly else */
        if (!nobody_listens(why) || started != 0 || now_ms() >= deadline) return NODUS_ESPAWN;
        sleep_ms(pause);
        if (pause < 100) pause *= 2;
    }
}

/* Makes the per-user socket directory (0700) and checks that it is ours. */
static int user_dir_ready(const char *dir)
{
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) return NODUS_ESPAWN;
    struct stat st;
    if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid())
        return NODUS_ECONNECT; /* someone else's directory: never start a daemon in it */
    return 0;
}

int conn_connect(const char *socket_path, int *fd)
{
    const char *explicit_path = socket_path;
    if (!explicit_path) {
        const char *env = getenv("NODUS_SOCKET");
        if (env && *env) explicit_path = env;
    }
    if (explicit_path) return connect_or_start(explicit_path, fd);

    int why = 0;
    if (socket_connect(SYSTEM_SOCKET, fd, &why) == 0) return 0;

    char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
    char path[sizeof dir];
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    int n = xdg && *xdg ? snprintf(dir, sizeof dir, "%s/nodus", xdg)
                        : snprintf(dir, sizeof dir, "/tmp/nodus-%u", (unsigned)getuid());
    if (n < 0 || (size_t)n >= sizeof dir) return NODUS_ECONNECT;
    n = snprintf(path, sizeof path, "%s/nodusd.sock", dir);
    if (n < 0 || (size_t)n >= sizeof path) return NODUS_ECONNECT;
    int rc = socket_connect(path, fd, &why);
    if (rc == 0 || !nobody_listens(why)) return rc;
    if (getenv("NODUS_NO_AUTOSTART")) return NODUS_ECONNECT;
    rc = user_dir_ready(dir);
    if (rc < 0) return rc;
    return connect_or_start(path, fd);
}

int conn_send_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            return NODUS_ECLOSED;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

void conn_program_name(char *buf)
{
    char comm[64] = "";
    int fd = open("/proc/self/comm", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t r = read(fd, comm, sizeof comm - 1);
        close(fd);
        if (r > 0) {
            comm[r] = '\0';
            comm[strcspn(comm, "\n")] = '\0';
        }
    }
    if (!comm[0] && program_invocation_short_name)
        snprintf(comm, sizeof comm, "%s", program_invocation_short_name);
    name_copy(buf, comm[0] ? comm : "nodus-client");
}

/* Reads until one whole frame is buffered; returns its payload (borrowed from the reader). */
static int read_frame(int fd, frame_reader_t *r, const uint8_t **payload, size_t *len)
{
    uint64_t deadline = now_ms() + HANDSHAKE_TIMEOUT_MS;
    for (;;) {
        int rc = frame_reader_next(r, payload, len);
        if (rc < 0) return NODUS_EPROTO;
        if (rc == 1) return 0;
        uint64_t now = now_ms();
        if (now >= deadline) return NODUS_ETIMEDOUT;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int pr = poll(&p, 1, (int)(deadline - now));
        if (pr < 0 && errno != EINTR) return NODUS_EIO;
        if (pr <= 0) continue;
        uint8_t *space;
        size_t avail;
        if (frame_reader_space(r, 4096, &space, &avail) < 0) return NODUS_ENOMEM;
        ssize_t got = recv(fd, space, avail, 0);
        if (got == 0) return NODUS_ECLOSED;
        if (got < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            return NODUS_ECLOSED;
        }
        frame_reader_commit(r, (size_t)got);
    }
}

static int welcome_take(const Nodus__V1__Welcome *w, conn_welcome_t *out)
{
    out->cpus = malloc(w->n_cores * sizeof *out->cpus);
    if (!out->cpus) return NODUS_ENOMEM;
    for (size_t i = 0; i < w->n_cores; i++) {
        if (w->cores[i] > MAX_CPU_ID) goto bad;
        for (size_t j = 0; j < i; j++)
            if (w->cores[j] == w->cores[i]) goto bad;
        out->cpus[i] = w->cores[i];
    }
    out->ncpus = w->n_cores;
    int rc = devices_from_welcome(w, &out->devices, &out->ndevices);
    if (rc < 0) {
        free(out->cpus);
        out->cpus = NULL;
        return rc;
    }
    out->session_id = w->session_id;
    out->weight = w->weight;
    out->max_frame =
        w->max_frame && w->max_frame < NODUS_MAX_FRAME ? w->max_frame : NODUS_MAX_FRAME;
    out->max_tasks_per_submit =
        w->max_tasks_per_submit && w->max_tasks_per_submit < NODUS_MAX_TASKS_PER_SUBMIT
            ? w->max_tasks_per_submit
            : NODUS_MAX_TASKS_PER_SUBMIT;
    return 0;
bad:
    free(out->cpus);
    out->cpus = NULL;
    return NODUS_EPROTO;
}

int conn_handshake(int fd, const char *job, uint32_t weight, frame_reader_t *reader,
                   conn_welcome_t *welcome)
{
    char prog[NODUS_MAX_NAME + 1], job_name[NODUS_MAX_NAME + 1];
    conn_program_name(prog);
    /* $NODUS_JOB wins over the program's own choice: launchers name jobs for fair share */
    const char *env_job = getenv("NODUS_JOB");
    if (env_job && *env_job) job = env_job;
    name_copy(job_name, job && *job ? job : prog);

    Nodus__V1__Hello hello = NODUS__V1__HELLO__INIT;
    hello.min_version = NODUS_PROTO_VERSION_MIN;
    hello.max_version = NODUS_PROTO_VERSION_MAX;
    hello.role = NODUS__V1__ROLE__ROLE_CLIENT;
    hello.job_name = job_name;
    hello.weight = weight;
    hello.client_name = prog;
    Nodus__V1__Msg msg = NODUS__V1__MSG__INIT;
    msg.body_case = NODUS__V1__MSG__BODY_HELLO;
    msg.hello = &hello;

    frame_buf_t out;
    frame_buf_init(&out);
    int rc = frame_buf_append(&out, &msg, NODUS_MAX_FRAME);
    if (rc == 0) rc = conn_send_all(fd, out.data, out.len);
    frame_buf_free(&out);
    if (rc < 0) return rc;

    const uint8_t *payload;
    size_t len;
    rc = read_frame(fd, reader, &payload, &len);
    if (rc < 0) return rc;
    Nodus__V1__Msg *reply = frame_decode(payload, len);
    const char *why = NULL;
    if (!reply || msg_validate(reply, 0, &why) < 0) {
        if (reply) nodus__v1__msg__free_unpacked(reply, NULL);
        return NODUS_EPROTO;
    }
    switch (reply->body_case) {
    case NODUS__V1__MSG__BODY_WELCOME:
        rc = welcome_take(reply->welcome, welcome);
        break;
    case NODUS__V1__MSG__BODY_ERROR:
        rc = error_from_wire(reply->error->code);
        break;
    default:
        rc = NODUS_EPROTO;
        break;
    }
    nodus__v1__msg__free_unpacked(reply, NULL);
    return rc;
}
