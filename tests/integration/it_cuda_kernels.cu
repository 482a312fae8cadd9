// Kernels of the it_cuda integration test (compiled by nvcc; launched from it_cuda.c).
#include <cuda_runtime.h>

__global__ static void affine_kernel(float *v, int n, float a, float b)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) v[i] = v[i] * a + b;
}

extern "C" cudaError_t itcu_affine(float *v, int n, float a, float b, cudaStream_t stream)
{
    affine_kernel<<<(n + 255) / 256, 256, 0, stream>>>(v, n, a, b);
    return cudaGetLastError();
}
