/*
 * libFuzzer target over the wire's front door: framing, decoding and validation, the code every
 * byte a peer sends goes through before the daemon's state machine sees it.
 *
 * Input layout:
 *   byte 0        flags: bits 0-3 = k, how many chunk-size bytes follow; bit 4 = read through
 *                 frame_reader_space/commit (the daemon's libuv path) instead of
 *                 frame_reader_feed; bit 5 = a small max_frame (64) so the limit is hit;
 *                 bits 6-7 = the core count validation is told about (0: none, 1, 2, 4096)
 *   bytes 1..k    chunk sizes, used in turn (0 means "all that is left")
 *   the rest      the byte stream, fed to a frame_reader in those chunks
 *
 * Oracles besides the sanitizers: the chunked reader yields exactly the frames (and the error)
 * that a one-pass reference parse of the whole stream finds, and every frame that decodes
 * re-encodes through frame_buf_append into a frame that decodes (but see check_payload) to a
 * message with the same packed bytes and the same validation verdict.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "nodus.h"
#include "nodus_limits.h"
#include "validate.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_frame: check failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t load_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/*
 * Reference framing of the whole stream in one pass: where the next frame should start and how
 * long it is, 0 when the stream ends first, NODUS_EPROTO for a bad length.
 */
static int reference_next(const uint8_t *s, size_t n, size_t *pos, size_t max_frame, size_t *off,
                          size_t *len)
{
    if (n - *pos < NODUS_FRAME_HEADER) return 0;
    uint32_t l = load_le32(s + *pos);
    if (l == 0 || l > max_frame) return NODUS_EPROTO;
    if (n - *pos - NODUS_FRAME_HEADER < l) return 0;
    *off = *pos + NODUS_FRAME_HEADER;
    *len = l;
    *pos += NODUS_FRAME_HEADER + l;
    return 1;
}

/* Decodes, validates, names and re-encodes one payload. */
static void check_payload(const uint8_t *payload, size_t len, unsigned ncores)
{
    Nodus__V1__Msg *m = frame_decode(payload, len);
    const char *why = NULL;
    int rc = msg_validate(m, ncores, &why);
    CHECK(rc == 0 || (rc == NODUS_EPROTO && why != NULL));
    const char *name = msg_body_name(m);
    CHECK(name != NULL && name[0] != '\0');
    if (!m) return;

    /* what decodes must encode, and decode again to the same message */
    frame_buf_t b;
    frame_buf_init(&b);
    size_t packed = nodus__v1__msg__get_packed_size(m);
    rc = frame_buf_append(&b, m, NODUS_MAX_FRAME);
    if (packed == 0) {
        CHECK(rc == NODUS_EINVAL); /* an envelope with no body */
    } else if (packed > NODUS_MAX_FRAME) {
        CHECK(rc == NODUS_ELIMIT);
    } else {
        CHECK(rc == 0);
        CHECK(b.len == NODUS_FRAME_HEADER + packed);
        CHECK(load_le32(b.data) == packed);
        Nodus__V1__Msg *again = frame_decode(b.data + NODUS_FRAME_HEADER, packed);
        if (!again) {
            /* protobuf-c keeps an unknown field numbered 0 on decode and writes it back, but
             * refuses it on the next decode. Nodus never re-encodes what it received, so this
             * is no nodus bug; everything else must come back. */
            frame_buf_free(&b);
            nodus__v1__msg__free_unpacked(m, NULL);
            return;
        }
        CHECK(again->body_case == m->body_case);
        CHECK(nodus__v1__msg__get_packed_size(again) == packed);
        uint8_t *repacked = malloc(packed);
        CHECK(repacked != NULL);
        nodus__v1__msg__pack(again, repacked);
        CHECK(memcmp(repacked, b.data + NODUS_FRAME_HEADER, packed) == 0);
        /* validation depends on the message alone, not on how it was encoded */
        const char *why2 = NULL;
        CHECK(msg_validate(again, ncores, &why2) == msg_validate(m, ncores, &why));
        free(repacked);
        nodus__v1__msg__free_unpacked(again, NULL);
    }
    frame_buf_free(&b);
    nodus__v1__msg__free_unpacked(m, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned ncores_choice[4] = {0, 1, 2, NODUS_MAX_CORES};
    if (size < 1) return 0;
    uint8_t flags = data[0];
    size_t k = flags & 0x0f;
    if (size < 1 + k) return 0;
    const uint8_t *chunks = data + 1;
    const uint8_t *stream = data + 1 + k;
    size_t n = size - 1 - k;
    int use_space = (flags & 0x10) != 0;
    size_t max_frame = (flags & 0x20) ? 64 : NODUS_MAX_FRAME;
    unsigned ncores = ncores_choice[flags >> 6];

    frame_reader_t r;
    frame_reader_init(&r, max_frame);
    size_t fed = 0, ci = 0, ref_pos = 0;
    int failed = 0;
    while (fed < n && !failed) {
        size_t want = k ? chunks[ci++ % k] : 0;
        if (want == 0 || want > n - fed) want = n - fed;
        if (use_space) {
            uint8_t *space;
            size_t avail;
            CHECK(frame_reader_space(&r, want, &space, &avail) == 0);
            CHECK(space != NULL && avail >= want);
            memcpy(space, stream + fed, want);
            frame_reader_commit(&r, want);
        } else {
            CHECK(frame_reader_feed(&r, stream + fed, want) == 0);
        }
        fed += want;
        for (;;) {
            const uint8_t *payload;
            size_t len, ref_off = 0, ref_len = 0;
            int rc = frame_reader_next(&r, &payload, &len);
            /* the reference sees only the bytes fed so far */
            int ref = reference_next(stream, fed, &ref_pos, max_frame, &ref_off, &ref_len);
            CHECK(rc == ref);
            if (rc < 0) {
                failed = 1; /* the daemon drops the peer here */
                break;
            }
            if (rc == 0) break;
            CHECK(len == ref_len && len > 0 && len <= max_frame);
            CHECK(memcmp(payload, stream + ref_off, len) == 0);
            check_payload(payload, len, ncores);
        }
    }
    /* the reader holds exactly the unconsumed tail */
    if (!failed) CHECK(r.len == fed - ref_pos);
    frame_reader_free(&r);
    return 0;
}
