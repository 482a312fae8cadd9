/*
 * hpccg_cuda.cu: CUDA bodies of the kernel tasks. All arrays are managed memory
 * (hpccg_mem.c), so a task can run as CPU, OpenCL or CUDA body on the same pointers: the daemon
 * releases a task's successors only after its stream work completed (interprocess event), and
 * the device must allow concurrent CPU access to managed memory (concurrentManagedAccess, as on
 * H100 under Linux) because CPU bodies touch other blocks while kernels run;
 * hpccg_cuda_usable() checks it. A body launches on nodus_cuda_stream() and returns: no
 * synchronisation. A host function queued after the kernels records when they completed.
 *
 * SpMV: one thread per row (own kernel), or cuSPARSE's CSR SpMV on a per-block matrix
 * descriptor (its row offsets rebased to 0) with a per-thread handle bound to the task's stream.
 * Dot: 128 blocks reduce into the block's scratch, one block adds them in a fixed order.
 */
#include "hpccg_cuda.h"

#include <nodus/cuda.h>

#include <cusparse.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <vector>

namespace {

constexpr int kThreads = 256;
constexpr int kDotBlocks = 128; /* <= HPCCG_DOT_SCRATCH */
static_assert(kDotBlocks <= HPCCG_DOT_SCRATCH, "dot scratch too small");

std::atomic<int> failed{0};

struct SpmvBlock {
    int *row_ptr = nullptr; /* managed: rebased row offsets */
    cusparseSpMatDescr_t mat = nullptr;
    cusparseDnVecDescr_t x = nullptr, y = nullptr;
    void *buffer = nullptr;
};
std::vector<SpmvBlock> spmv_blocks;
const size_t *block_start;
int nblocks;
bool use_cusparse;
thread_local cusparseHandle_t handle;

__global__ void waxpby_kernel(double *w, const double *x, const double *y, double a, double b,
                              size_t n)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i < n) w[i] = __dadd_rn(__dmul_rn(a, x[i]), __dmul_rn(b, y[i]));
}

__global__ void spmv_kernel(const int *row_ptr, const int *cols, const double *vals,
                            const double *p, double *y, size_t start, size_t n)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= n) return;
    size_t r = start + i;
    double s = 0.0;
    for (int j = row_ptr[r]; j < row_ptr[r + 1]; j++)
        s += vals[j] * p[cols[j]];
    y[r] = s;
}

__global__ void dot_partial_kernel(const double *x, const double *y, size_t n, double *scratch)
{
    __shared__ double part[kThreads];
    double s = 0.0;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        s += x[i] * y[i];
    part[threadIdx.x] = s;
    __syncthreads();
    for (int half = kThreads / 2; half > 0; half /= 2) {
        if ((int)threadIdx.x < half) part[threadIdx.x] += part[threadIdx.x + half];
        __syncthreads();
    }
    if (threadIdx.x == 0) scratch[blockIdx.x] = part[0];
}

__global__ void dot_final_kernel(const double *scratch, int count, double *out)
{
    double s = 0.0;
    for (int i = 0; i < count; i++)
        s += scratch[i];
    *out = s;
}

void CUDART_CB done(void *arg)
{
    hpccg_ktask_t *t = static_cast<hpccg_ktask_t *>(arg);
    hpccg_tasks_account(t, NODUS_DEV_CUDA, hpccg_now() - t->t0);
}

unsigned grid_for(size_t n)
{
    return (unsigned)((n + kThreads - 1) / kThreads);
}

int block_of(size_t start)
{
    for (int i = 0; i < nblocks; i++)
        if (block_start[i] == start) return i;
    return -1;
}

cudaError_t spmv_cusparse(const hpccg_ktask_t *t, cudaStream_t stream)
{
    int b = block_of(t->start);
    if (b < 0) return cudaErrorInvalidValue;
    if (!handle && cusparseCreate(&handle) != CUSPARSE_STATUS_SUCCESS)
        return cudaErrorInvalidValue;
    if (cusparseSetStream(handle, stream) != CUSPARSE_STATUS_SUCCESS)
        return cudaErrorInvalidValue;
    const double one = 1.0, zero = 0.0;
    SpmvBlock &blk = spmv_blocks[(size_t)b];
    cusparseStatus_t st = cusparseSpMV(handle, CUSPARSE_OPERATION_NON_TRANSPOSE, &one, blk.mat,
                                       blk.x, &zero, blk.y, CUDA_R_64F,
                                       CUSPARSE_SPMV_ALG_DEFAULT, blk.buffer);
    return st == CUSPARSE_STATUS_SUCCESS ? cudaSuccess : cudaErrorInvalidValue;
}

} // namespace

extern "C" int hpccg_cuda_usable(void)
{
    int count = 0, concurrent = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) return 0;
    if (cudaDeviceGetAttribute(&concurrent, cudaDevAttrConcurrentManagedAccess, 0) != cudaSuccess)
        return 0;
    return concurrent != 0;
}

extern "C" void *hpccg_cuda_alloc(size_t bytes)
{
    void *p = nullptr;
    if (cudaMallocManaged(&p, bytes, cudaMemAttachGlobal) != cudaSuccess) return nullptr;
    std::memset(p, 0, bytes);
    return p;
}

extern "C" void hpccg_cuda_free(void *p)
{
    cudaFree(p);
}

extern "C" int hpccg_cuda_setup(const hpccg_problem_t *pb, int nb, const size_t *bstart,
                                const size_t *blen, const double *p_ext, double *y, int cusparse)
{
    failed = 0;
    block_start = bstart;
    nblocks = nb;
    use_cusparse = cusparse != 0;
    if (!use_cusparse) return 0;
    cusparseHandle_t h;
    if (cusparseCreate(&h) != CUSPARSE_STATUS_SUCCESS) return -1;
    spmv_blocks.assign((size_t)nb, SpmvBlock());
    int rc = 0;
    for (int i = 0; i < nb && rc == 0; i++) {
        SpmvBlock &blk = spmv_blocks[(size_t)i];
        size_t rows = blen[i], r0 = bstart[i];
        int base = pb->row_ptr[r0], nnz = pb->row_ptr[r0 + rows] - base;
        blk.row_ptr = static_cast<int *>(hpccg_cuda_alloc((rows + 1) * sizeof(int)));
        if (!blk.row_ptr) return -1;
        for (size_t r = 0; r <= rows; r++)
            blk.row_ptr[r] = pb->row_ptr[r0 + r] - base;
        const double one = 1.0, zero = 0.0;
        size_t bytes = 0;
        if (cusparseCreateCsr(&blk.mat, (int64_t)rows, (int64_t)pb->ext, nnz, blk.row_ptr,
                              pb->cols + base, pb->vals + base, CUSPARSE_INDEX_32I,
                              CUSPARSE_INDEX_32I, CUSPARSE_INDEX_BASE_ZERO,
                              CUDA_R_64F) != CUSPARSE_STATUS_SUCCESS ||
            cusparseCreateDnVec(&blk.x, (int64_t)pb->ext, const_cast<double *>(p_ext),
                                CUDA_R_64F) != CUSPARSE_STATUS_SUCCESS ||
            cusparseCreateDnVec(&blk.y, (int64_t)rows, y + r0, CUDA_R_64F) !=
                CUSPARSE_STATUS_SUCCESS ||
            cusparseSpMV_bufferSize(h, CUSPARSE_OPERATION_NON_TRANSPOSE, &one, blk.mat, blk.x,
                                    &zero, blk.y, CUDA_R_64F, CUSPARSE_SPMV_ALG_DEFAULT,
                                    &bytes) != CUSPARSE_STATUS_SUCCESS ||
            cudaMalloc(&blk.buffer, bytes ? bytes : 8) != cudaSuccess)
            rc = -1;
    }
    cusparseDestroy(h);
    return rc;
}

extern "C" void hpccg_cuda_body(void *arg)
{
    hpccg_ktask_t *t = static_cast<hpccg_ktask_t *>(arg);
    if (!*t->active) return;
    t->t0 = hpccg_now();
    cudaStream_t s = nodus_cuda_stream();
    cudaError_t err = cudaSuccess;
    switch (t->kind) {
    case HPCCG_K_WAXPBY: {
        double a, b;
        hpccg_ktask_coeffs(t, &a, &b);
        waxpby_kernel<<<grid_for(t->n), kThreads, 0, s>>>(t->w, t->x, t->y, a, b, t->n);
        break;
    }
    case HPCCG_K_SPMV:
        if (use_cusparse)
            err = spmv_cusparse(t, s);
        else
            spmv_kernel<<<grid_for(t->n), kThreads, 0, s>>>(t->pb->row_ptr, t->pb->cols,
                                                             t->pb->vals, t->x, t->w, t->start,
                                                             t->n);
        break;
    case HPCCG_K_DOT:
        dot_partial_kernel<<<kDotBlocks, kThreads, 0, s>>>(t->x, t->y, t->n, t->scratch);
        dot_final_kernel<<<1, 1, 0, s>>>(t->scratch, kDotBlocks, t->out);
        break;
    }
    if (err == cudaSuccess) err = cudaGetLastError();
    if (err == cudaSuccess) err = cudaLaunchHostFunc(s, done, t);
    if (err != cudaSuccess) {
        std::fprintf(stderr, "hpccg: CUDA launch failed: %s\n", cudaGetErrorString(err));
        failed = 1;
    }
}

extern "C" int hpccg_cuda_teardown(void)
{
    for (SpmvBlock &blk : spmv_blocks) {
        if (blk.mat) cusparseDestroySpMat(blk.mat);
        if (blk.x) cusparseDestroyDnVec(blk.x);
        if (blk.y) cusparseDestroyDnVec(blk.y);
        if (blk.buffer) cudaFree(blk.buffer);
        if (blk.row_ptr) hpccg_cuda_free(blk.row_ptr);
    }
    spmv_blocks.clear();
    return failed ? -1 : 0;
}
