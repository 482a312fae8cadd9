/*
 * The listening socket. Binding a path is guarded by a lock file `PATH.lock` held with flock()
 * for the daemon's lifetime, so two daemons racing for one path (two clients autostarting at
 * once) cannot both bind: the loser finds the winner answering and says so. A socket file
 * that nobody answers on (a crashed daemon's) is removed and bound again.
 * Loop thread only.
 */
#ifndef NODUS_SERVER_H
#define NODUS_SERVER_H

#include <stddef.h>
#include <sys/types.h>

#include <uv.h>

#include "daemon.h"

typedef struct server {
    daemon_t *d; /* borrowed */
    uv_pipe_t pipe;
    int pipe_init;  /* pipe handle initialised (needs uv_close) */
    int closed;     /* server_close() ran */
    char path[108]; /* "" for an inherited socket of unknown path */
    char lock_path[128];
    int lock_fd;   /* -1 when not held */
    int owns_path; /* we bound the path: unlink it when closing */
    dev_t dev;     /* identity of the socket file we bound */
    ino_t ino;
} server_t;

/*
 * Creates the directory holding `sock_path` if it is missing (mode 0700). With `private_dir`
 * (the per-user default location), an existing directory must belong to this user and is made
 * private. Returns 0 or NODUS_EIO / NODUS_EPERM with a message in err.
 */
int server_prepare_dir(const char *sock_path, int private_dir, char *err, size_t errlen);

/*
 * Binds `path` (taking PATH.lock), chmods it 0600 and starts accepting on d's loop. If another
 * daemon answers on the path, returns NODUS_ECONNECT with *already_running set (nothing bound).
 * Other failures return a negative code with a message in err. `srv` is initialised here.
 */
int server_listen_path(server_t *srv, daemon_t *d, const char *path, int *already_running,
                       char *err, size_t errlen);

/* Accepts on an inherited listening socket `fd` (systemd socket activation). */
int server_listen_fd(server_t *srv, daemon_t *d, int fd, char *err, size_t errlen);

/* Stops accepting: closes the handle, removes the socket file we bound and releases the lock. */
void server_close(server_t *srv);

#endif
