/*
 * Protocol limits both sides enforce. The daemon drops a peer that exceeds any of them; libnodus
 * never sends a message that would.
 */
#ifndef NODUS_PROTO_LIMITS_H
#define NODUS_PROTO_LIMITS_H

#define NODUS_PROTO_VERSION_MIN 1u
#define NODUS_PROTO_VERSION_MAX 1u

#define NODUS_FRAME_HEADER          4u                   /* little-endian uint32 payload length */
#define NODUS_MAX_FRAME             (4u * 1024u * 1024u) /* hard limit on one frame's payload */
#define NODUS_MAX_TASKS_PER_SUBMIT  16384u
#define NODUS_MAX_ACCESSES_PER_TASK 1024u
#define NODUS_MAX_DONE_PER_MSG      65536u
#define NODUS_MAX_GRANTS_PER_MSG    65536u
#define NODUS_MAX_CORES             4096u  /* cores one daemon may own */
#define NODUS_MAX_NAME              63u    /* job, client and label strings, in bytes */
#define NODUS_MAX_WEIGHT            10000u /* absolute cap; the config caps lower */
#define NODUS_MAX_ERROR_TEXT        255u
#define NODUS_MAX_DEVICES           64u    /* devices one daemon may own */
#define NODUS_MAX_DEVICE_SLOTS      64u    /* streams / queues per device */
#define NODUS_MAX_CUDA_EVENTS       65536u /* a client's CUDA event pool entries */
#define NODUS_CUDA_IPC_HANDLE_SIZE  64u    /* sizeof(cudaIpcEventHandle_t) */
#define NODUS_IMPLS_KNOWN           0x7u   /* CPU | CUDA | OPENCL bits of TaskSpec.impls */
#define NODUS_MAX_TRACE_EVENTS                                                                     \
    (16u * 1024u * 1024u)                      /* TraceStart.capacity_events, trace.capacity */
#define NODUS_MIN_TRACE_EVENTS 1024u           /* smaller capacities are raised to this */
#define NODUS_MAX_TRACE_CHUNK  (1024u * 1024u) /* TraceChunk.data, in bytes */

#endif
