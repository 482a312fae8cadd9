/*
 * submit_buf.h: the lifetime of a submission buffer (see internal.h for its layout).
 */
#ifndef NODUS_CLIENT_SUBMIT_BUF_H
#define NODUS_CLIENT_SUBMIT_BUF_H

#include "internal.h"

/* Initialises an empty buffer. */
void submit_buf_init(submit_buf_t *b);
/* Frees the buffer's storage. */
void submit_buf_free(submit_buf_t *b);
/* Empties the buffer, keeping its storage for reuse. */
void submit_buf_clear(submit_buf_t *b);

#endif
