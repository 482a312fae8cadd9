/*
 * Length-prefixed framing of protobuf messages over a byte stream, shared by nodusd and
 * libnodus. A frame is a 4-byte little-endian payload length followed by one packed
 * nodus.v1.Msg. Pure code: no I/O, no threads; callers own synchronisation.
 */
#ifndef NODUS_PROTO_FRAME_H
#define NODUS_PROTO_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "nodus.pb-c.h"

/* Incremental reader: feed stream bytes, take out whole frames. */
typedef struct frame_reader {
    uint8_t *buf; /* owned */
    size_t start; /* first unconsumed byte */
    size_t len;   /* bytes held, from start */
    size_t cap;
    size_t max_frame; /* largest payload accepted */
} frame_reader_t;

/* Initialises an empty reader that accepts payloads of at most max_frame bytes. */
void frame_reader_init(frame_reader_t *r, size_t max_frame);
/* Frees the reader's buffer. */
void frame_reader_free(frame_reader_t *r);
/* Gives writable space of at least `want` bytes at the end (for read()/libuv alloc_cb). */
int frame_reader_space(frame_reader_t *r, size_t want, uint8_t **space, size_t *avail);
/* Marks n bytes written into the space from frame_reader_space() as received. */
void frame_reader_commit(frame_reader_t *r, size_t n);
/* Copies n bytes in (convenience for tests and fuzzers). */
int frame_reader_feed(frame_reader_t *r, const void *data, size_t n);
/*
 * Takes the next whole frame: returns 1 with *payload (borrowed until the next reader call) and
 * *len set, 0 when more bytes are needed, NODUS_EPROTO for a zero or oversized length.
 */
int frame_reader_next(frame_reader_t *r, const uint8_t **payload, size_t *len);

/* Growable output buffer holding zero or more encoded frames. */
typedef struct frame_buf {
    uint8_t *data; /* owned */
    size_t len;
    size_t cap;
} frame_buf_t;

void frame_buf_init(frame_buf_t *b);
void frame_buf_free(frame_buf_t *b);
/* Drops the first n bytes (after a partial write). */
void frame_buf_consume(frame_buf_t *b, size_t n);
/* Appends one framed message; NODUS_ELIMIT if its payload exceeds max_frame. */
int frame_buf_append(frame_buf_t *b, const Nodus__V1__Msg *msg, size_t max_frame);

/* Unpacks a payload; NULL if it is not a valid Msg. Free with nodus__v1__msg__free_unpacked. */
Nodus__V1__Msg *frame_decode(const uint8_t *payload, size_t len);

#endif
