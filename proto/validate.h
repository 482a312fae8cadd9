/*
 * Field-level validation of decoded messages, before anything uses them. Checks what a message
 * can get wrong on its own (enums, ranges, counts, string sizes, address overflow); whether a
 * message is allowed in the session's current state is the daemon's session module's job.
 */
#ifndef NODUS_PROTO_VALIDATE_H
#define NODUS_PROTO_VALIDATE_H

#include <stdint.h>

#include "nodus.pb-c.h"

/*
 * Returns 0 if `m` is well formed, else NODUS_EPROTO with *why set to a static reason (for
 * the log line that names the peer). `ncores` bounds per-task core counts (0: no bound).
 */
int msg_validate(const Nodus__V1__Msg *m, unsigned ncores, const char **why);

/* Name of a message body for logs ("hello", "submit", ...). */
const char *msg_body_name(const Nodus__V1__Msg *m);

/* Name of a DeviceKind ("cpu", "cuda", "opencl"; "unknown" otherwise) for logs and nodusctl. */
const char *device_kind_name(uint32_t kind);

#endif
