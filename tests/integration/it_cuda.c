/*
 * it_cuda: CUDA tasks through a real nodusd (task-aware CUDA: bodies enqueue on
 * nodus_cuda_stream() and return; the daemon polls the interprocess event libnodus records).
 *
 *   it_cuda [CHAIN_LEN]
 *   it_cuda --probe      exit 0 if this machine has a CUDA device, 77 if not
 *
 * The graph: a chain of CHAIN_LEN dependent kernels on a vector v (each task copies v in, runs
 * v = v * 1 + (step + 1), copies it back); a cuBLAS SGEMM task C = A B; a cuSPARSE SpMV task
 * y = S v (S a tridiagonal CSR matrix) that reads the chain's result; and a CPU task that reads
 * v, C and y and checks them against the CPU. Every vendor-library handle is bound to the task's
 * stream. Exits 77 without a GPU (no CUDA device, or the daemon owns none).
 */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cublas_v2.h>
#include <cusparse.h>
#include <nodus.h>
#include <nodus/cuda.h>

cudaError_t itcu_affine(float *v, int n, float a, float b, cudaStream_t stream);

#define VN 4096 /* vector length */
#define MN 128  /* GEMM: square MN x MN */

static atomic_int errors;
static int cuda_index = -1;

static void fail(const char *what, int code)
{
    if (atomic_fetch_add(&errors, 1) < 10) fprintf(stderr, "it_cuda: %s (%d)\n", what, code);
}

/* Every CUDA body: the context libnodus set. */
static cudaStream_t body_stream(void)
{
    cudaStream_t s = nodus_cuda_stream();
    int dev = -1;
    if (nodus_task_device_kind() != NODUS_DEV_CUDA || !s || nodus_task_device() != cuda_index ||
        cudaGetDevice(&dev) != cudaSuccess || dev != nodus_cuda_device())
        fail("CUDA body without its CUDA context", dev);
    return s;
}

typedef struct chain_task {
    float *host_v, *dev_v;
    float b;
} chain_task_t;

static void chain_body(void *p)
{
    chain_task_t *t = p;
    cudaStream_t s = body_stream();
    size_t bytes = VN * sizeof(float);
    cudaError_t e = cudaMemcpyAsync(t->dev_v, t->host_v, bytes, cudaMemcpyHostToDevice, s);
    if (e == cudaSuccess) e = itcu_affine(t->dev_v, VN, 1.0f, t->b, s);
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(t->host_v, t->dev_v, bytes, cudaMemcpyDeviceToHost, s);
    if (e != cudaSuccess) fail("chain enqueue", (int)e);
}

typedef struct gemm_task {
    cublasHandle_t handle;
    const float *a, *b;
    float *c;
    float *da, *db, *dc;
} gemm_task_t;

static void gemm_body(void *p)
{
    gemm_task_t *t = p;
    cudaStream_t s = body_stream();
    size_t bytes = MN * MN * sizeof(float);
    const float one = 1.0f, zero = 0.0f;
    cudaError_t e = cudaMemcpyAsync(t->da, t->a, bytes, cudaMemcpyHostToDevice, s);
    if (e == cudaSuccess) e = cudaMemcpyAsync(t->db, t->b, bytes, cudaMemcpyHostToDevice, s);
    if (e != cudaSuccess || cublasSetStream(t->handle, s) != CUBLAS_STATUS_SUCCESS ||
        cublasSgemm(t->handle, CUBLAS_OP_N, CUBLAS_OP_N, MN, MN, MN, &one, t->da, MN, t->db, MN,
                    &zero, t->dc, MN) != CUBLAS_STATUS_SUCCESS ||
        cudaMemcpyAsync(t->c, t->dc, bytes, cudaMemcpyDeviceToHost, s) != cudaSuccess)
        fail("gemm enqueue", (int)e);
}

typedef struct spmv_task {
    cusparseHandle_t handle;
    cusparseSpMatDescr_t mat;
    cusparseDnVecDescr_t x, y;
    void *work;
    const float *host_x;
    float *host_y, *dev_x, *dev_y;
} spmv_task_t;

static void spmv_body(void *p)
{
    spmv_task_t *t = p;
    cudaStream_t s = body_stream();
    const float one = 1.0f, zero = 0.0f;
    if (cudaMemcpyAsync(t->dev_x, t->host_x, VN * sizeof(float), cudaMemcpyHostToDevice, s) !=
            cudaSuccess ||
        cusparseSetStream(t->handle, s) != CUSPARSE_STATUS_SUCCESS ||
        cusparseSpMV(t->handle, CUSPARSE_OPERATION_NON_TRANSPOSE, &one, t->mat, t->x, &zero, t->y,
                     CUDA_R_32F, CUSPARSE_SPMV_ALG_DEFAULT, t->work) != CUSPARSE_STATUS_SUCCESS ||
        cudaMemcpyAsync(t->host_y, t->dev_y, VN * sizeof(float), cudaMemcpyDeviceToHost, s) !=
            cudaSuccess)
        fail("spmv enqueue", 0);
}

typedef struct check_task {
    const float *v, *c, *y, *a, *b;
    size_t chain_len;
    int checked;
} check_task_t;

/* The CPU task at the end: everything the device tasks produced, recomputed here. */
static void check_body(void *p)
{
    check_task_t *t = p;
    float sum_b = 0;
    for (size_t s = 0; s < t->chain_len; s++)
        sum_b += (float)(s + 1);
    for (int i = 0; i < VN; i++)
        if (t->v[i] != (float)(i % 7) + sum_b) {
            fail("chain result", i);
            break;
        }
    for (int i = 0; i < VN; i++) {
        float want = 2 * t->v[i] - (i > 0 ? t->v[i - 1] : 0) - (i + 1 < VN ? t->v[i + 1] : 0);
        if (t->y[i] != want) {
            fail("spmv result", i);
            break;
        }
    }
    for (int col = 0; col < MN; col++)
        for (int row = 0; row < MN; row++) {
            double want = 0;
            for (int k = 0; k < MN; k++)
                want += (double)t->a[k * MN + row] * t->b[col * MN + k];
            if (fabs(t->c[col * MN + row] - want) > 1e-3 * (fabs(want) + 1)) {
                fail("gemm result", row);
                col = MN;
                break;
            }
        }
    t->checked = 1;
}

int main(int argc, char **argv)
{
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
        printf("it_cuda: no CUDA device on this machine: skipped\n");
        return 77;
    }
    if (argc > 1 && !strcmp(argv[1], "--probe")) return 0; /* a GPU is present */
    size_t chain_len = argc > 1 ? strtoul(argv[1], NULL, 10) : 16;
    nodus_t *n;
    int rc = nodus_open(&n, "it_cuda", NULL);
    if (rc < 0) {
        fprintf(stderr, "it_cuda: nodus_open: %s\n", nodus_strerror(rc));
        return 1;
    }
    for (int i = 0; i < nodus_num_devices(n) && cuda_index < 0; i++) {
        nodus_device_kind_t kind;
        char name[128];
        if (nodus_device_info(n, i, &kind, name, sizeof name) == 0 && kind == NODUS_DEV_CUDA) {
            cuda_index = i;
            printf("it_cuda: device %d: %s\n", i, name);
        }
    }
    if (cuda_index < 0) {
        printf("it_cuda: the daemon owns no CUDA device: skipped\n");
        nodus_close(n);
        return 77;
    }
    int ordinal = nodus_cuda_device_of(n, cuda_index);
    if (ordinal < 0 || cudaSetDevice(ordinal) != cudaSuccess) {
        fprintf(stderr, "it_cuda: nodus_cuda_device_of: %s\n", nodus_strerror(ordinal));
        return 1;
    }

    /* host (pinned) and device memory, handles and descriptors: set up before submitting */
    float *v, *a, *b, *c, *y, *dv, *da, *db, *dc, *dx, *dy, *dval;
    int *drow, *dcol;
    size_t vb = VN * sizeof(float), mb = MN * MN * sizeof(float);
    int nnz = 3 * VN - 2;
    if (cudaMallocHost((void **)&v, vb) || cudaMallocHost((void **)&y, vb) ||
        cudaMallocHost((void **)&a, mb) || cudaMallocHost((void **)&b, mb) ||
        cudaMallocHost((void **)&c, mb) || cudaMalloc((void **)&dv, vb) ||
        cudaMalloc((void **)&dx, vb) || cudaMalloc((void **)&dy, vb) ||
        cudaMalloc((void **)&da, mb) || cudaMalloc((void **)&db, mb) ||
        cudaMalloc((void **)&dc, mb) || cudaMalloc((void **)&dval, nnz * sizeof(float)) ||
        cudaMalloc((void **)&drow, (VN + 1) * sizeof(int)) ||
        cudaMalloc((void **)&dcol, nnz * sizeof(int))) {
        fprintf(stderr, "it_cuda: out of memory\n");
        return 1;
    }
    for (int i = 0; i < VN; i++)
        v[i] = (float)(i % 7);
    for (int i = 0; i < MN * MN; i++) {
        a[i] = (float)((i * 7) % 13) - 6;
        b[i] = (float)((i * 5) % 11) - 5;
    }
    /* the tridiagonal [-1 2 -1] in CSR */
    float *hval = malloc(nnz * sizeof(float));
    int *hrow = malloc((VN + 1) * sizeof(int)), *hcol = malloc(nnz * sizeof(int)), k = 0;
    for (int r = 0; r < VN; r++) {
        hrow[r] = k;
        for (int col = r - 1; col <= r + 1; col++)
            if (col >= 0 && col < VN) {
                hcol[k] = col;
                hval[k++] = col == r ? 2.0f : -1.0f;
            }
    }
    hrow[VN] = k;
    cudaMemcpy(dval, hval, nnz * sizeof(float), cudaMemcpyHostToDevice);
    cudaMemcpy(drow, hrow, (VN + 1) * sizeof(int), cudaMemcpyHostToDevice);
    cudaMemcpy(dcol, hcol, nnz * sizeof(int), cudaMemcpyHostToDevice);

    gemm_task_t gemm = {.a = a, .b = b, .c = c, .da = da, .db = db, .dc = dc};
    spmv_task_t spmv = {.host_x = v, .host_y = y, .dev_x = dx, .dev_y = dy};
    size_t work_bytes = 0;
    const float one = 1.0f, zero = 0.0f;
    if (cublasCreate(&gemm.handle) != CUBLAS_STATUS_SUCCESS ||
        cusparseCreate(&spmv.handle) != CUSPARSE_STATUS_SUCCESS ||
        cusparseCreateCsr(&spmv.mat, VN, VN, nnz, drow, dcol, dval, CUSPARSE_INDEX_32I,
                          CUSPARSE_INDEX_32I, CUSPARSE_INDEX_BASE_ZERO,
                          CUDA_R_32F) != CUSPARSE_STATUS_SUCCESS ||
        cusparseCreateDnVec(&spmv.x, VN, dx, CUDA_R_32F) != CUSPARSE_STATUS_SUCCESS ||
        cusparseCreateDnVec(&spmv.y, VN, dy, CUDA_R_32F) != CUSPARSE_STATUS_SUCCESS ||
        cusparseSpMV_bufferSize(spmv.handle, CUSPARSE_OPERATION_NON_TRANSPOSE, &one, spmv.mat,
                                spmv.x, &zero, spmv.y, CUDA_R_32F, CUSPARSE_SPMV_ALG_DEFAULT,
                                &work_bytes) != CUSPARSE_STATUS_SUCCESS ||
        cudaMalloc(&spmv.work, work_bytes ? work_bytes : 1) != cudaSuccess) {
        fprintf(stderr, "it_cuda: cannot set up cuBLAS/cuSPARSE\n");
        return 1;
    }

    nodus_task_attr_t *attr;
    if (nodus_task_attr_create(&attr) < 0 || nodus_task_attr_set_label(attr, "it_cuda") < 0)
        return 1;
    chain_task_t *chain = calloc(chain_len, sizeof *chain);
    for (size_t s = 0; s < chain_len && rc == 0; s++) {
        chain[s] = (chain_task_t){.host_v = v, .dev_v = dv, .b = (float)(s + 1)};
        nodus_access_t acc = {v, vb, NODUS_INOUT};
        nodus_task_attr_set_impl(attr, NODUS_DEV_CUDA, chain_body);
        rc = nodus_submit(n, NULL, &chain[s], &acc, 1, attr);
    }
    nodus_access_t gacc[] = {{a, mb, NODUS_IN}, {b, mb, NODUS_IN}, {c, mb, NODUS_OUT}};
    nodus_task_attr_set_impl(attr, NODUS_DEV_CUDA, gemm_body);
    if (rc == 0) rc = nodus_submit(n, NULL, &gemm, gacc, 3, attr);
    nodus_access_t sacc[] = {{v, vb, NODUS_IN}, {y, vb, NODUS_OUT}};
    nodus_task_attr_set_impl(attr, NODUS_DEV_CUDA, spmv_body);
    if (rc == 0) rc = nodus_submit(n, NULL, &spmv, sacc, 2, attr);
    check_task_t check = {.v = v, .c = c, .y = y, .a = a, .b = b, .chain_len = chain_len};
    nodus_access_t cacc[] = {{v, vb, NODUS_IN}, {c, mb, NODUS_IN}, {y, vb, NODUS_IN}};
    if (rc == 0) rc = nodus_submit(n, check_body, &check, cacc, 3, NULL);
    if (rc == 0) rc = nodus_taskwait(n);
    if (rc < 0) {
        fprintf(stderr, "it_cuda: %s\n", nodus_strerror(rc));
        return 1;
    }
    if (!check.checked) fail("the check task did not run", 0);
    printf("it_cuda: %zu chained kernels, SGEMM %dx%d, SpMV n=%d: %s\n", chain_len, MN, MN, VN,
           atomic_load(&errors) ? "WRONG" : "results match the CPU");
    nodus_task_attr_destroy(attr);
    rc = nodus_close(n);
    if (rc < 0) fprintf(stderr, "it_cuda: close: %s\n", nodus_strerror(rc));
    cusparseDestroySpMat(spmv.mat);
    cusparseDestroyDnVec(spmv.x);
    cusparseDestroyDnVec(spmv.y);
    cusparseDestroy(spmv.handle);
    cublasDestroy(gemm.handle);
    return rc < 0 || atomic_load(&errors) ? 1 : 0;
}
