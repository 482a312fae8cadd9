/*
 * Listening socket: directory preparation, the PATH.lock protocol, stale-socket recovery,
 * bind/listen through libuv, and accepting connections into sessions.
 *
 * Start-up race (two autostarting clients, or a restart while the old daemon still runs):
 *   1. take PATH.lock with flock(LOCK_EX|LOCK_NB); if another process holds it, it is a daemon
 *      starting or running: wait for it to answer on PATH (then "already running") or give up;
 *   2. holding the lock, probe PATH with connect(): an answer means a live daemon that did not
 *      take the lock (an older one): "already running"; ECONNREFUSED means a stale socket file
 *      left by a daemon that died: unlink it;
 *   3. bind with umask 0177 (never world-accessible, even for an instant), listen.
 * The lock is held until exit; the socket file is unlinked before the lock is released.
 */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "nodus.h"
#include "session.h"

#define SERVER_BACKLOG 128
/* How long to wait for a daemon that holds the lock to start answering. */
#define SERVER_LOCK_WAIT_MS 5000
#define SERVER_LOCK_POLL_MS 20

#define ERR(...)                                                                                   \
    do {                                                                                           \
        snprintf(err, errlen, __VA_ARGS__);                                                        \
    } while (0)

static int mkdir_parents(char *dir, mode_t mode)
{
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        int rc = mkdir(dir, mode);
        *p = '/';
        if (rc < 0 && errno != EEXIST) return -1;
    }
    if (mkdir(dir, mode) < 0 && errno != EEXIST) return -1;
    return 0;
}

int server_prepare_dir(const char *sock_path, int private_dir, char *err, size_t errlen)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", sock_path);
    char *slash = strrchr(dir, '/');
    if (!slash) return 0;       /* relative name in the current directory */
    if (slash == dir) return 0; /* directly under / */
    *slash = '\0';
    /* the private directory itself must not be a symlink (someone else's); others may be */
    int (*statf)(const char *, struct stat *) = private_dir ? lstat : stat;
    struct stat st;
    if (statf(dir, &st) < 0) {
        if (errno != ENOENT || mkdir_parents(dir, private_dir ? 0700 : 0755) < 0) {
            ERR("cannot create %s: %s", dir, strerror(errno));
            return NODUS_EIO;
        }
        if (statf(dir, &st) < 0) {
            ERR("cannot stat %s: %s", dir, strerror(errno));
            return NODUS_EIO;
        }
    }
    if (!S_ISDIR(st.st_mode)) {
        ERR("%s is not a directory", dir);
        return NODUS_EIO;
    }
    if (private_dir) {
        if (st.st_uid != geteuid()) {
            ERR("%s belongs to uid %u, not to this user (%u)", dir, (unsigned)st.st_uid,
                (unsigned)geteuid());
            return NODUS_EPERM;
        }
        if ((st.st_mode & 077) && chmod(dir, 0700) < 0) {
            ERR("cannot make %s private: %s", dir, strerror(errno));
            return NODUS_EPERM;
        }
    }
    return 0;
}

/* Probes `path`: 1 if a daemon answers (or its backlog is full), 0 if nobody does (missing or
 * stale), -1 on another error (errno set). */
static int probe(const char *path)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    int e = errno;
    close(fd);
    if (rc == 0 || e == EAGAIN || e == EINPROGRESS) return 1;
    if (e == ECONNREFUSED || e == ENOENT) return 0;
    errno = e;
    return -1;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/*
 * Takes PATH.lock. Returns 0 with srv->lock_fd held, 1 if a daemon holding it answers on the
 * path, or a negative code.
 */
static int take_lock(server_t *srv, char *err, size_t errlen)
{
    for (int attempt = 0; attempt < 8; attempt++) {
        int fd = open(srv->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
            ERR("cannot open lock file %s: %s", srv->lock_path, strerror(errno));
            return NODUS_EIO;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
            int e = errno;
            close(fd);
            if (e != EWOULDBLOCK) {
                ERR("cannot lock %s: %s", srv->lock_path, strerror(e));
                return NODUS_EIO;
            }
            /* another daemon is starting or running: wait until it answers, or lets go */
            int waited = 0;
            for (;;) {
                if (probe(srv->path) == 1) return 1;
                if (waited >= SERVER_LOCK_WAIT_MS) {
                    ERR("%s is locked by another nodusd that does not answer on %s", srv->lock_path,
                        srv->path);
                    return NODUS_EIO;
                }
                sleep_ms(SERVER_LOCK_POLL_MS);
                waited += SERVER_LOCK_POLL_MS;
                /* the holder may have exited: try the lock again */
                int fd2 = open(srv->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd2 >= 0 && flock(fd2, LOCK_EX | LOCK_NB) == 0) {
                    close(fd2); /* retaken below, with the identity check */
                    break;
                }
                if (fd2 >= 0) close(fd2);
            }
            continue;
        }
        /* the previous owner may have unlinked the file between our open and flock */
        struct stat a, b;
        if (fstat(fd, &a) == 0 && stat(srv->lock_path, &b) == 0 && a.st_dev == b.st_dev &&
            a.st_ino == b.st_ino) {
            char pid[32];
            int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
            if (ftruncate(fd, 0) == 0 && write(fd, pid, (size_t)n) != n)
                LOG(LOG_DEBUG, "server", 0, "cannot write pid into %s", srv->lock_path);
            srv->lock_fd = fd;
            return 0;
        }
        close(fd);
    }
    ERR("cannot take lock %s: it keeps being replaced", srv->lock_path);
    return NODUS_EIO;
}

static void release_lock(server_t *srv)
{
    if (srv->lock_fd < 0) return;
    unlink(srv->lock_path); /* while still held: a racer re-checks the file's identity */
    close(srv->lock_fd);
    srv->lock_fd = -1;
}

static void on_connection(uv_stream_t *listener, int status)
{
    server_t *srv = listener->data;
    if (status < 0) {
        LOG(LOG_WARNING, "server", 0, "accept error: %s", uv_strerror(status));
        return;
    }
    session_accept(srv->d, listener);
}

static void server_init(server_t *srv, daemon_t *d)
{
    memset(srv, 0, sizeof *srv);
    srv->d = d;
    srv->lock_fd = -1;
}

static int start_listening(server_t *srv, char *err, size_t errlen)
{
    int rc = uv_listen((uv_stream_t *)&srv->pipe, SERVER_BACKLOG, on_connection);
    if (rc < 0) {
        ERR("cannot listen on %s: %s", srv->path[0] ? srv->path : "inherited socket",
            uv_strerror(rc));
        return NODUS_EIO;
    }
    srv->d->server = srv;
    return 0;
}

int server_listen_path(server_t *srv, daemon_t *d, const char *path, int *already_running,
                       char *err, size_t errlen)
{
    server_init(srv, d);
    *already_running = 0;
    struct sockaddr_un sa;
    if (strlen(path) >= sizeof sa.sun_path) {
        ERR("socket path too long (%zu bytes, at most %zu): %s", strlen(path),
            sizeof sa.sun_path - 1, path);
        return NODUS_EINVAL;
    }
    snprintf(srv->path, sizeof srv->path, "%s", path);
    if ((size_t)snprintf(srv->lock_path, sizeof srv->lock_path, "%s.lock", path) >=
        sizeof srv->lock_path) {
        ERR("lock path too long: %s.lock", path);
        return NODUS_EINVAL;
    }

    int rc = take_lock(srv, err, errlen);
    if (rc == 1) {
        *already_running = 1;
        ERR("a nodusd is already running on %s", path);
        return NODUS_ECONNECT;
    }
    if (rc < 0) return rc;

    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            ERR("%s exists and is not a socket", path);
            release_lock(srv);
            return NODUS_EIO;
        }
        int live = probe(path);
        if (live == 1) {
            *already_running = 1;
            ERR("a nodusd is already running on %s", path);
            release_lock(srv);
            return NODUS_ECONNECT;
        }
        if (live < 0) {
            ERR("cannot probe %s: %s", path, strerror(errno));
            release_lock(srv);
            return NODUS_EIO;
        }
        LOG(LOG_NOTICE, "server", 0, "removing stale socket %s", path);
        if (unlink(path) < 0 && errno != ENOENT) {
            ERR("cannot remove stale socket %s: %s", path, strerror(errno));
            release_lock(srv);
            return NODUS_EIO;
        }
    }

    uv_pipe_init(d->loop, &srv->pipe, 0);
    srv->pipe.data = srv;
    srv->pipe_init = 1;
    mode_t old = umask(0177);
    rc = uv_pipe_bind(&srv->pipe, path);
    umask(old);
    if (rc < 0) {
        ERR("cannot bind %s: %s", path, uv_strerror(rc));
        release_lock(srv);
        return NODUS_EIO;
    }
    srv->owns_path = 1;
    if (chmod(path, 0600) < 0)
        LOG(LOG_WARNING, "server", 0, "cannot chmod %s: %s", path, strerror(errno));
    if (lstat(path, &st) == 0) {
        srv->dev = st.st_dev;
        srv->ino = st.st_ino;
    }
    return start_listening(srv, err, errlen);
}

int server_listen_fd(server_t *srv, daemon_t *d, int fd, char *err, size_t errlen)
{
    server_init(srv, d);
    uv_pipe_init(d->loop, &srv->pipe, 0);
    srv->pipe.data = srv;
    srv->pipe_init = 1;
    int rc = uv_pipe_open(&srv->pipe, fd);
    if (rc < 0) {
        ERR("cannot use inherited socket fd %d: %s", fd, uv_strerror(rc));
        return NODUS_EIO;
    }
    size_t len = sizeof srv->path;
    if (uv_pipe_getsockname(&srv->pipe, srv->path, &len) < 0) srv->path[0] = '\0';
    return start_listening(srv, err, errlen);
}

void server_close(server_t *srv)
{
    if (srv->closed) return;
    srv->closed = 1;
    if (srv->pipe_init && !uv_is_closing((uv_handle_t *)&srv->pipe))
        uv_close((uv_handle_t *)&srv->pipe, NULL);
    if (srv->owns_path) {
        struct stat st;
        /* only the file we bound: a successor may already have replaced it */
        if (lstat(srv->path, &st) == 0 && st.st_dev == srv->dev && st.st_ino == srv->ino)
            unlink(srv->path);
        srv->owns_path = 0;
    }
    release_lock(srv);
    if (srv->d && srv->d->server == srv) srv->d->server = NULL;
}
