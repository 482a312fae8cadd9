/*
 * Framing: 4-byte little-endian length + packed nodus.v1.Msg. The reader compacts its buffer
 * lazily so a burst of small frames costs one memmove, not one per frame.
 */
#include "frame.h"

#include <stdlib.h>
#include <string.h>

#include "nodus_limits.h"
#include "nodus.h"

static uint32_t load_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void store_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

void frame_reader_init(frame_reader_t *r, size_t max_frame)
{
    memset(r, 0, sizeof *r);
    r->max_frame = max_frame;
}

void frame_reader_free(frame_reader_t *r)
{
    free(r->buf);
    memset(r, 0, sizeof *r);
}

int frame_reader_space(frame_reader_t *r, size_t want, uint8_t **space, size_t *avail)
{
    if (r->start > 0 && (r->len == 0 || r->start >= r->cap / 2)) {
        memmove(r->buf, r->buf + r->start, r->len);
        r->start = 0;
    }
    size_t used = r->start + r->len;
    if (!r->buf || r->cap - used < want) { /* never hand out NULL, even for want == 0 */
        size_t cap = r->cap ? r->cap : 4096;
        while (cap - used < want)
            cap *= 2;
        uint8_t *nb = realloc(r->buf, cap);
        if (!nb) return NODUS_ENOMEM;
        r->buf = nb;
        r->cap = cap;
    }
    *space = r->buf + used;
    *avail = r->cap - used;
    return 0;
}

void frame_reader_commit(frame_reader_t *r, size_t n)
{
    r->len += n;
}

int frame_reader_feed(frame_reader_t *r, const void *data, size_t n)
{
    uint8_t *space;
    size_t avail;
    int rc = frame_reader_space(r, n, &space, &avail);
    if (rc < 0) return rc;
    memcpy(space, data, n);
    frame_reader_commit(r, n);
    return 0;
}

int frame_reader_next(frame_reader_t *r, const uint8_t **payload, size_t *len)
{
    if (r->len < NODUS_FRAME_HEADER) return 0;
    uint32_t n = load_le32(r->buf + r->start);
    if (n == 0 || n > r->max_frame) return NODUS_EPROTO;
    if (r->len - NODUS_FRAME_HEADER < n) return 0;
    *payload = r->buf + r->start + NODUS_FRAME_HEADER;
    *len = n;
    r->start += NODUS_FRAME_HEADER + n;
    r->len -= NODUS_FRAME_HEADER + n;
    if (r->len == 0)
        r->start = 0; /* payload stays valid: nothing overwrites it until the next call */
    return 1;
}

void frame_buf_init(frame_buf_t *b)
{
    memset(b, 0, sizeof *b);
}

void frame_buf_free(frame_buf_t *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

void frame_buf_consume(frame_buf_t *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

int frame_buf_append(frame_buf_t *b, const Nodus__V1__Msg *msg, size_t max_frame)
{
    size_t n = nodus__v1__msg__get_packed_size(msg);
    if (n == 0) {
        /* An empty-bodied message (e.g. StatusRequest) still needs a non-zero frame: protobuf
         * encodes a set oneof member even when it is empty, so n is at least 2 here. */
        return NODUS_EINVAL;
    }
    if (n > max_frame) return NODUS_ELIMIT;
    size_t need = b->len + NODUS_FRAME_HEADER + n;
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < need)
            cap *= 2;
        uint8_t *nd = realloc(b->data, cap);
        if (!nd) return NODUS_ENOMEM;
        b->data = nd;
        b->cap = cap;
    }
    store_le32(b->data + b->len, (uint32_t)n);
    nodus__v1__msg__pack(msg, b->data + b->len + NODUS_FRAME_HEADER);
    b->len = need;
    return 0;
}

Nodus__V1__Msg *frame_decode(const uint8_t *payload, size_t len)
{
    return nodus__v1__msg__unpack(NULL, len, payload);
}
