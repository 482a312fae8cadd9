/*
 * nodusctl's connection to nodusd: finding the socket, the ROLE_CTL handshake, and blocking
 * request/reply over the framed protocol. One connection per nodusctl run; single-threaded.
 */
#ifndef NODUSCTL_CONN_H
#define NODUSCTL_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"

/* Seconds nodusctl waits for nodusd to accept a message or answer one. */
#define CTL_IO_TIMEOUT_S 10

typedef struct ctl_conn {
    int fd;
    frame_reader_t reader;
    char path[108];      /* socket path, for messages */
    uint32_t version;    /* negotiated protocol version */
    uint64_t session_id; /* the id nodusd gave this connection */
} ctl_conn_t;

/*
 * Resolves the socket the way libnodus does, without autostart: `explicit_path` (--socket),
 * else $NODUS_SOCKET, else /run/nodus/nodusd.sock if it exists, else
 * $XDG_RUNTIME_DIR/nodus/nodusd.sock, else /tmp/nodus-$UID/nodusd.sock. Returns 0, or
 * NODUS_ELIMIT when the path does not fit `len` or a socket address.
 */
int ctl_socket_path(const char *explicit_path, char *buf, size_t len);

/*
 * Connects to `path` and says Hello as ROLE_CTL; returns 0 once Welcome arrived, else a
 * NODUS_E* code with the reason in err. On failure nothing needs closing.
 */
int ctl_conn_open(ctl_conn_t *c, const char *path, char *err, size_t errlen);

/*
 * Sends `req` and waits for the reply whose body is `want`. An Error from nodusd gives its code
 * (or NODUS_EPROTO) with its text in err. *reply is the caller's to free with
 * nodus__v1__msg__free_unpacked().
 */
int ctl_conn_request(ctl_conn_t *c, const Nodus__V1__Msg *req, Nodus__V1__Msg__BodyCase want,
                     Nodus__V1__Msg **reply, char *err, size_t errlen);

/* Sends one message; 0 or a NODUS_E* code with err set. */
int ctl_conn_send(ctl_conn_t *c, const Nodus__V1__Msg *m, char *err, size_t errlen);
/* Reads the next whole, valid message (caller frees it); 0 or a NODUS_E* code with err set. */
int ctl_conn_recv(ctl_conn_t *c, Nodus__V1__Msg **out, char *err, size_t errlen);
/* Turns an Error message from nodusd into its code (or NODUS_EPROTO) and a text in err. */
int ctl_conn_error(const Nodus__V1__Msg *m, char *err, size_t errlen);

/* Says Bye (best effort) and closes the connection. */
void ctl_conn_close(ctl_conn_t *c);

#endif
