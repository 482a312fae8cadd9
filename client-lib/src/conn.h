/*
 * Connection set-up: finding the daemon (NODUS_SOCKET, system socket, per-user daemon started on
 * demand), connecting, the Hello/Welcome handshake, and blocking framed sends. After the
 * handshake the socket belongs to the comm thread (comm.c).
 */
#ifndef NODUS_CLIENT_CONN_H
#define NODUS_CLIENT_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "device.h"
#include "frame.h"

/* What the daemon told us in its Welcome. */
typedef struct conn_welcome {
    uint64_t session_id;
    uint32_t *cpus; /* OS CPU ids the daemon owns, distinct; caller frees */
    size_t ncpus;
    uint32_t weight;
    uint32_t max_frame;            /* 0 in the Welcome is replaced by NODUS_MAX_FRAME */
    uint32_t max_tasks_per_submit; /* likewise, capped at NODUS_MAX_TASKS_PER_SUBMIT */
    device_t *devices;             /* the daemon's devices; caller frees (devices_free) */
    size_t ndevices;
} conn_welcome_t;

/*
 * Connects to a daemon. `socket_path` non-NULL, or $NODUS_SOCKET, names the socket, and a daemon
 * is started there if none answers; otherwise the system socket, then the per-user socket
 * (started on demand). $NODUS_NO_AUTOSTART disables starting. On success *fd is a connected,
 * blocking, close-on-exec socket. Returns 0, NODUS_ECONNECT, NODUS_ESPAWN or NODUS_EINVAL.
 */
int conn_connect(const char *socket_path, int *fd);

/*
 * Sends Hello{job, weight} and reads the Welcome (at most 10 s). `reader` (initialised by the
 * caller) keeps any bytes that followed the Welcome. Returns 0 or a NODUS_E* code, the daemon's
 * own when it answered with an Error.
 */
int conn_handshake(int fd, const char *job, uint32_t weight, frame_reader_t *reader,
                   conn_welcome_t *welcome);

/* Writes all `len` bytes to a blocking socket without raising SIGPIPE. */
int conn_send_all(int fd, const void *data, size_t len);

/* This program's name for Hello (from /proc/self/comm), sanitised into buf[NODUS_MAX_NAME+1]. */
void conn_program_name(char *buf);

#endif
