/*
 * nodus error codes: the one list from which the public enum and nodus_strerror() are
 * generated. Both the daemon and libnodus use it; the daemon sends these codes in Error messages.
 * Codes are stable: append new ones at the end, never renumber.
 */
#ifndef NODUS_ERRORS_H
#define NODUS_ERRORS_H

/* X(name, value, message) */
#define NODUS_ERROR_LIST(X)                                                                        \
    X(OK, 0, "success")                                                                            \
    X(EINVAL, -1, "invalid argument")                                                              \
    X(ENOMEM, -2, "out of memory")                                                                 \
    X(ECONNECT, -3, "cannot connect to nodusd")                                                    \
    X(ECLOSED, -4, "connection to nodusd lost")                                                    \
    X(EPROTO, -5, "protocol violation")                                                            \
    X(EVERSION, -6, "no common protocol version")                                                  \
    X(ELIMIT, -7, "limit exceeded")                                                                \
    X(EPERM, -8, "permission denied")                                                              \
    X(ESPAWN, -9, "cannot start a per-user nodusd")                                                \
    X(ETIMEDOUT, -10, "timed out")                                                                 \
    X(ENOTSUP, -11, "not supported")                                                               \
    X(EIO, -12, "input/output error")                                                              \
    X(ESTATE, -13, "operation not valid in this state")                                            \
    X(EDRAINING, -14, "nodusd is draining and refuses new work")                                   \
    X(ELOST, -15, "a started task's outcome was lost when nodusd restarted")

#endif
