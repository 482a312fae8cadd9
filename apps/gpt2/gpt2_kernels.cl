/*
 * gpt2_kernels.cl: the OpenCL C kernels of the GPT-2 ops (gpt2_ops.h), embedded into gpt2_ocl
 * at build time (devices.cmake turns this file into a C array).
 *
 * Every tensor argument is a pair (buffer, element offset): the buffer is the USE_HOST_PTR
 * buffer of the arena that holds the tensor, the offset is where the tensor (or the op's slice of
 * it) starts in that arena. Offsets are ulong because arenas may exceed 2^31 elements; indices
 * inside one op fit in int.
 *
 * Every kernel runs with a fixed work-group size (64; 8 for those with a whole row per work-item;
 * 16x16 for the tiled GEMM, 1 for the CPU GEMMs) and a global size rounded up to it, so
 * out-of-range work-items return early. A fixed size matters on PoCL: it compiles one work-group
 * function per kernel and local size, and a size chosen per launch would compile again for every
 * slice shape.
 *
 * Each work-item owns the output elements it writes, so no kernel needs atomics: reductions over
 * rows (weight gradients, attention key/value gradients) loop inside the work-item that owns the
 * gradient element. The math follows llm.c's CPU reference (train_gpt2.c) with dropout removed;
 * where a formula is rearranged (the softmax backward in attention) the comment says so.
 */

#define GPT2_GELU_SCALE 0.7978845608028654f /* sqrt(2/pi) */

/* ---- encoder ---- */

__kernel void gpt2_encoder_fwd(__global float *out, ulong out_off, __global const int *tokens,
                               ulong tok_off, __global const float *wte, ulong wte_off,
                               __global const float *wpe, ulong wpe_off, int bt0, int nrows, int T,
                               int C)
{
    int idx = get_global_id(0);
    if (idx >= nrows * C) return;
    out += out_off;
    tokens += tok_off;
    wte += wte_off;
    wpe += wpe_off;
    int bt = bt0 + idx / C, c = idx % C;
    int t = bt % T;
    out[(size_t)bt * C + c] = wte[(size_t)tokens[bt] * C + c] + wpe[(size_t)t * C + c];
}

/* One work-item per channel walks the rows in order, so repeated tokens accumulate in order. */
__kernel void gpt2_encoder_bwd(__global float *dwte, ulong dwte_off, __global float *dwpe,
                               ulong dwpe_off, __global const float *dout, ulong dout_off,
                               __global const int *tokens, ulong tok_off, int bt0, int bt1, int oc0,
                               int nch, int T, int C)
{
    int i = get_global_id(0);
    if (i >= nch) return;
    dwte += dwte_off;
    dwpe += dwpe_off;
    dout += dout_off;
    tokens += tok_off;
    int c = oc0 + i;
    for (int bt = bt0; bt < bt1; bt++) {
        float d = dout[(size_t)bt * C + c];
        dwte[(size_t)tokens[bt] * C + c] += d;
        dwpe[(size_t)(bt % T) * C + c] += d;
    }
}

/* ---- layernorm: one work-item per row (forward, input gradient), per channel (weights) ---- */

__kernel void gpt2_layernorm_fwd(__global float *out, ulong out_off, __global float *mean,
                                 ulong mean_off, __global float *rstd, ulong rstd_off,
                                 __global const float *inp, ulong inp_off,
                                 __global const float *weight, ulong w_off,
                                 __global const float *bias, ulong b_off, int bt0, int nrows, int C)
{
    int r = get_global_id(0);
    if (r >= nrows) return;
    int bt = bt0 + r;
    __global const float *x = inp + inp_off + (size_t)bt * C;
    __global float *o = out + out_off + (size_t)bt * C;
    weight += w_off;
    bias += b_off;
    float m = 0.0f;
    for (int i = 0; i < C; i++)
        m += x[i];
    m /= C;
    float v = 0.0f;
    for (int i = 0; i < C; i++) {
        float d = x[i] - m;
        v += d * d;
    }
    v /= C;
    float s = 1.0f / sqrt(v + 1e-5f);
    for (int i = 0; i < C; i++)
        o[i] = s * (x[i] - m) * weight[i] + bias[i];
    mean[mean_off + bt] = m;
    rstd[rstd_off + bt] = s;
}

__kernel void gpt2_layernorm_bwd_inp(__global float *dinp, ulong dinp_off,
                                     __global const float *dout, ulong dout_off,
                                     __global const float *inp, ulong inp_off,
                                     __global const float *weight, ulong w_off,
                                     __global const float *mean, ulong mean_off,
                                     __global const float *rstd, ulong rstd_off, int bt0, int nrows,
                                     int C)
{
    int r = get_global_id(0);
    if (r >= nrows) return;
    int bt = bt0 + r;
    __global const float *x = inp + inp_off + (size_t)bt * C;
    __global const float *dy = dout + dout_off + (size_t)bt * C;
    __global float *dx = dinp + dinp_off + (size_t)bt * C;
    weight += w_off;
    float m = mean[mean_off + bt], s = rstd[rstd_off + bt];
    float dnorm_mean = 0.0f, dnorm_norm_mean = 0.0f;
    for (int i = 0; i < C; i++) {
        float dnorm = weight[i] * dy[i];
        dnorm_mean += dnorm;
        dnorm_norm_mean += dnorm * (x[i] - m) * s;
    }
    dnorm_mean /= C;
    dnorm_norm_mean /= C;
    for (int i = 0; i < C; i++) {
        float norm = (x[i] - m) * s;
        float dnorm = weight[i] * dy[i];
        dx[i] += (dnorm - dnorm_mean - norm * dnorm_norm_mean) * s;
    }
}

__kernel void gpt2_layernorm_bwd_wb(__global float *dweight, ulong dw_off, __global float *dbias,
                                    ulong db_off, __global const float *dout, ulong dout_off,
                                    __global const float *inp, ulong inp_off,
                                    __global const float *mean, ulong mean_off,
                                    __global const float *rstd, ulong rstd_off, int bt0, int bt1,
                                    int C)
{
    int c = get_global_id(0);
    if (c >= C) return;
    dout += dout_off;
    inp += inp_off;
    mean += mean_off;
    rstd += rstd_off;
    float dw = 0.0f, db = 0.0f;
    for (int bt = bt0; bt < bt1; bt++) {
        float dy = dout[(size_t)bt * C + c];
        db += dy;
        dw += (inp[(size_t)bt * C + c] - mean[bt]) * rstd[bt] * dy;
    }
    dweight[dw_off + c] += dw;
    dbias[db_off + c] += db;
}

/* ---- matmul: a tiled SGEMM for all three matmul ops (GPUs; CPU devices use the next two) ----
 *
 * C[m*ldc + n] = (accumulate ? C : 0) + (has_bias ? bias[n] : 0) + sum_k A(m,k) * B(k,n), with
 * A(m,k) = A[m*a_sm + k*a_sk] and B(k,n) = B[k*b_sk + n*b_sn]: the strides express every
 * transpose the ops need. A 16x16 work-group computes a 64x64 tile of C, each work-item a 4x4
 * block (rows ly + 16i, columns lx + 16j), from 16-deep slabs of A and B staged in local memory.
 */
#define GEMM_TM 64
#define GEMM_TN 64
#define GEMM_TK 16
#define GEMM_WG 16
#define GEMM_R 4 /* GEMM_TM / GEMM_WG */

__kernel __attribute__((reqd_work_group_size(GEMM_WG, GEMM_WG, 1))) void
gpt2_gemm(int M, int N, int K, __global const float *A, ulong a_off, int a_sm, int a_sk,
          __global const float *B, ulong b_off, int b_sk, int b_sn, __global float *Cm, ulong c_off,
          int ldc, int accumulate, __global const float *bias, ulong bias_off, int has_bias)
{
    __local float As[GEMM_TK][GEMM_TM + 1];
    __local float Bs[GEMM_TK][GEMM_TN + 1];
    int lx = get_local_id(0), ly = get_local_id(1);
    int lid = ly * GEMM_WG + lx;
    int n_base = get_group_id(0) * GEMM_TN, m_base = get_group_id(1) * GEMM_TM;
    A += a_off;
    B += b_off;
    Cm += c_off;
    float acc[GEMM_R][GEMM_R];
    for (int i = 0; i < GEMM_R; i++)
        for (int j = 0; j < GEMM_R; j++)
            acc[i][j] = 0.0f;
    for (int k0 = 0; k0 < K; k0 += GEMM_TK) {
        /* 16x64 elements of each slab, 4 per work-item; zeros past the matrix edges */
        for (int e = lid; e < GEMM_TK * GEMM_TM; e += GEMM_WG * GEMM_WG) {
            int kk, mm;
            if (a_sk == 1) { /* K contiguous in memory: let neighbouring items read along k */
                kk = e % GEMM_TK;
                mm = e / GEMM_TK;
            } else {
                mm = e % GEMM_TM;
                kk = e / GEMM_TM;
            }
            int m = m_base + mm, k = k0 + kk;
            As[kk][mm] = (m < M && k < K) ? A[(size_t)m * a_sm + (size_t)k * a_sk] : 0.0f;
        }
        for (int e = lid; e < GEMM_TK * GEMM_TN; e += GEMM_WG * GEMM_WG) {
            int kk, nn;
            if (b_sk == 1) {
                kk = e % GEMM_TK;
                nn = e / GEMM_TK;
            } else {
                nn = e % GEMM_TN;
                kk = e / GEMM_TN;
            }
            int n = n_base + nn, k = k0 + kk;
            Bs[kk][nn] = (n < N && k < K) ? B[(size_t)k * b_sk + (size_t)n * b_sn] : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int kk = 0; kk < GEMM_TK; kk++) {
            float a[GEMM_R], b[GEMM_R];
            for (int i = 0; i < GEMM_R; i++)
                a[i] = As[kk][ly + GEMM_WG * i];
            for (int j = 0; j < GEMM_R; j++)
                b[j] = Bs[kk][lx + GEMM_WG * j];
            for (int i = 0; i < GEMM_R; i++)
                for (int j = 0; j < GEMM_R; j++)
                    acc[i][j] = fma(a[i], b[j], acc[i][j]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int i = 0; i < GEMM_R; i++) {
        int m = m_base + ly + GEMM_WG * i;
        if (m >= M) continue;
        for (int j = 0; j < GEMM_R; j++) {
            int n = n_base + lx + GEMM_WG * j;
            if (n >= N) continue;
            __global float *c = Cm + (size_t)m * ldc + n;
            float v = acc[i][j];
            if (has_bias) v += bias[bias_off + n];
            if (accumulate) v += *c;
            *c = v;
        }
    }
}

/* ---- matmul on CPU devices ----
 * On a CPU device local memory is ordinary memory and barriers split the kernel into loops over
 * the work-items, so the tiled kernel above runs at a few GFLOP/s on PoCL. These two kernels
 * instead give each work-item a register block computed with explicit vectors from global memory
 * (the caches do the tiling), one work-item per work-group, no barriers: 3-15x faster on PoCL.
 *
 * gpt2_gemm_nt: A and B both contiguous along k (a_sk = b_sk = 1, so B(k,n) = B[n*b_sn + k]):
 * every work-item computes a 4x4 block of dot products, 8 k at a time. Rows and columns past
 * the edge are clamped for the loads and skipped for the stores.
 */
__kernel __attribute__((reqd_work_group_size(1, 1, 1))) void
gpt2_gemm_nt(int M, int N, int K, __global const float *A, ulong a_off, int a_sm,
             __global const float *B, ulong b_off, int b_sn, __global float *Cm, ulong c_off,
             int ldc, int accumulate, __global const float *bias, ulong bias_off, int has_bias)
{
    /* m varies fastest: consecutive work-items reuse the same 4 rows of B from L1 while the
     * (usually smaller) A streams from L2 */
    int m0 = get_global_id(0) * 4, n0 = get_global_id(1) * 4;
    if (n0 >= N || m0 >= M) return;
    __global const float *ar[4], *br[4];
    for (int i = 0; i < 4; i++)
        ar[i] = A + a_off + (size_t)min(m0 + i, M - 1) * a_sm;
    for (int j = 0; j < 4; j++)
        br[j] = B + b_off + (size_t)min(n0 + j, N - 1) * b_sn;
    float8 acc[4][4];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            acc[i][j] = (float8)(0.0f);
    int K8 = K & ~7;
    for (int k = 0; k < K8; k += 8) {
        float8 a[4], b[4];
        for (int i = 0; i < 4; i++)
            a[i] = vload8(0, ar[i] + k);
        for (int j = 0; j < 4; j++)
            b[j] = vload8(0, br[j] + k);
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++)
                acc[i][j] = fma(a[i], b[j], acc[i][j]);
    }
    for (int i = 0; i < 4 && m0 + i < M; i++) {
        for (int j = 0; j < 4 && n0 + j < N; j++) {
            float4 s4 = acc[i][j].lo + acc[i][j].hi;
            float s = (s4.x + s4.y) + (s4.z + s4.w);
            for (int k = K8; k < K; k++)
                s += ar[i][k] * br[j][k];
            if (has_bias) s += bias[bias_off + n0 + j];
            __global float *c = Cm + c_off + (size_t)(m0 + i) * ldc + n0 + j;
            if (accumulate) s += *c;
            *c = s;
        }
    }
}

/* gpt2_gemm_bn: B contiguous along n (b_sn = 1), A any strides: every work-item computes 8 rows
 * by 16 columns as C[m, n..n+16) += A(m,k) * B[k, n..n+16), one k at a time. A work-item at the
 * right edge gathers its partial B row into a private array. */
__kernel __attribute__((reqd_work_group_size(1, 1, 1))) void
gpt2_gemm_bn(int M, int N, int K, __global const float *A, ulong a_off, int a_sm, int a_sk,
             __global const float *B, ulong b_off, int b_sk, __global float *Cm, ulong c_off,
             int ldc, int accumulate)
{
    int n0 = get_global_id(0) * 16, m0 = get_global_id(1) * 8;
    if (n0 >= N || m0 >= M) return;
    A += a_off;
    B += b_off + n0;
    float16 acc[8];
    size_t arow[8];
    for (int i = 0; i < 8; i++) {
        acc[i] = (float16)(0.0f);
        arow[i] = (size_t)min(m0 + i, M - 1) * a_sm;
    }
    bool full = n0 + 16 <= N;
    for (int k = 0; k < K; k++) {
        float16 b;
        if (full) {
            b = vload16(0, B + (size_t)k * b_sk);
        } else {
            float part[16];
            for (int j = 0; j < 16; j++)
                part[j] = n0 + j < N ? B[(size_t)k * b_sk + j] : 0.0f;
            b = vload16(0, part);
        }
        size_t ko = (size_t)k * a_sk;
        for (int i = 0; i < 8; i++)
            acc[i] = fma((float16)(A[arow[i] + ko]), b, acc[i]);
    }
    for (int i = 0; i < 8 && m0 + i < M; i++) {
        float r[16];
        vstore16(acc[i], 0, r);
        __global float *c = Cm + c_off + (size_t)(m0 + i) * ldc + n0;
        for (int j = 0; j < 16 && n0 + j < N; j++)
            c[j] = accumulate ? c[j] + r[j] : r[j];
    }
}

/* dbias[oc] += sum over rows of dout[bt, oc], one work-item per output channel */
__kernel void gpt2_bias_grad(__global float *dbias, ulong db_off, __global const float *dout,
                             ulong dout_off, int bt0, int bt1, int oc0, int noc, int OC)
{
    int i = get_global_id(0);
    if (i >= noc) return;
    dout += dout_off;
    int oc = oc0 + i;
    float s = 0.0f;
    for (int bt = bt0; bt < bt1; bt++)
        s += dout[(size_t)bt * OC + oc];
    dbias[db_off + oc] += s;
}

/* ---- attention ----
 * Rows [bt0, bt0+nrows) lie in one batch b; t = bt - b*T. qkv rows are 3C wide: q at h*hs, k at
 * C + h*hs, v at 2C + h*hs. preatt/att/datt/dpreatt are [B, NH, T, T]; (b, h, t) is the row
 * ((b*NH + h)*T + t)*T.
 */
#define ATT_ROW(b, h, t) ((((size_t)(b) * NH + (h)) * T + (t)) * T)

/* preatt[b,h,t,t2] = q_t . k_t2 / sqrt(hs) for t2 <= t; one work-item per (row, head, t2) */
__kernel void gpt2_attn_preatt(__global float *preatt, ulong pre_off, __global const float *inp,
                               ulong inp_off, int bt0, int nrows, int h0, int nh, int T, int C,
                               int NH)
{
    int idx = get_global_id(0);
    if (idx >= nrows * nh * T) return;
    int t2 = idx % T, hh = (idx / T) % nh, r = idx / (T * nh);
    int bt = bt0 + r, b = bt / T, t = bt % T, h = h0 + hh, hs = C / NH;
    if (t2 > t) return;
    inp += inp_off;
    __global const float *q = inp + (size_t)bt * 3 * C + h * hs;
    __global const float *k = inp + ((size_t)b * T + t2) * 3 * C + C + h * hs;
    float s = 0.0f;
    for (int i = 0; i < hs; i++)
        s += q[i] * k[i];
    preatt[pre_off + ATT_ROW(b, h, t) + t2] = s * (1.0f / sqrt((float)hs));
}

/* att = softmax of the preatt row over t2 <= t, 0 above; one work-item per (row, head) */
__kernel void gpt2_attn_softmax(__global float *att, ulong att_off, __global const float *preatt,
                                ulong pre_off, int bt0, int nrows, int h0, int nh, int T, int NH)
{
    int idx = get_global_id(0);
    if (idx >= nrows * nh) return;
    int hh = idx % nh, r = idx / nh;
    int bt = bt0 + r, b = bt / T, t = bt % T, h = h0 + hh;
    __global const float *p = preatt + pre_off + ATT_ROW(b, h, t);
    __global float *a = att + att_off + ATT_ROW(b, h, t);
    float maxval = -10000.0f; /* llm.c's starting value */
    for (int t2 = 0; t2 <= t; t2++)
        maxval = fmax(maxval, p[t2]);
    float sum = 0.0f;
    for (int t2 = 0; t2 <= t; t2++) {
        float e = exp(p[t2] - maxval);
        sum += e;
        a[t2] = e;
    }
    float inv = sum == 0.0f ? 0.0f : 1.0f / sum;
    for (int t2 = 0; t2 < T; t2++)
        a[t2] = t2 <= t ? a[t2] * inv : 0.0f;
}

/* out[bt, h*hs + i] = sum_{t2<=t} att * v_t2[i]; one work-item per (row, head, i) */
__kernel void gpt2_attn_out(__global float *out, ulong out_off, __global const float *att,
                            ulong att_off, __global const float *inp, ulong inp_off, int bt0,
                            int nrows, int h0, int nh, int T, int C, int NH)
{
    int hs = C / NH;
    int idx = get_global_id(0);
    if (idx >= nrows * nh * hs) return;
    int i = idx % hs, hh = (idx / hs) % nh, r = idx / (hs * nh);
    int bt = bt0 + r, b = bt / T, t = bt % T, h = h0 + hh;
    __global const float *a = att + att_off + ATT_ROW(b, h, t);
    __global const float *v = inp + inp_off + (size_t)b * T * 3 * C + 2 * C + h * hs + i;
    float s = 0.0f;
    for (int t2 = 0; t2 <= t; t2++)
        s += a[t2] * v[(size_t)t2 * 3 * C];
    out[out_off + (size_t)bt * C + h * hs + i] = s;
}

/* datt[b,h,t,t2] = v_t2 . dout_t for t2 <= t, 0 above; one work-item per (row, head, t2) */
__kernel void gpt2_attn_datt(__global float *datt, ulong datt_off, __global const float *dout,
                             ulong dout_off, __global const float *inp, ulong inp_off, int bt0,
                             int nrows, int h0, int nh, int T, int C, int NH)
{
    int idx = get_global_id(0);
    if (idx >= nrows * nh * T) return;
    int t2 = idx % T, hh = (idx / T) % nh, r = idx / (T * nh);
    int bt = bt0 + r, b = bt / T, t = bt % T, h = h0 + hh, hs = C / NH;
    float s = 0.0f;
    if (t2 <= t) {
        __global const float *dy = dout + dout_off + (size_t)bt * C + h * hs;
        __global const float *v = inp + inp_off + ((size_t)b * T + t2) * 3 * C + 2 * C + h * hs;
        for (int i = 0; i < hs; i++)
            s += v[i] * dy[i];
    }
    datt[datt_off + ATT_ROW(b, h, t) + t2] = s;
}

/* Softmax backward. llm.c sums att[t2] * (t2 == t3 - att[t3]) * datt[t2] over t2 for each t3;
 * that sum is att[t3] * (datt[t3] - sum_t2 att[t2] * datt[t2]), computed here in O(T) per row.
 * One work-item per (row, head); 0 above the diagonal. */
__kernel void gpt2_attn_dpreatt(__global float *dpreatt, ulong dpre_off, __global const float *att,
                                ulong att_off, __global const float *datt, ulong datt_off, int bt0,
                                int nrows, int h0, int nh, int T, int NH)
{
    int idx = get_global_id(0);
    if (idx >= nrows * nh) return;
    int hh = idx % nh, r = idx / nh;
    int bt = bt0 + r, b = bt / T, t = bt % T, h = h0 + hh;
    __global const float *a = att + att_off + ATT_ROW(b, h, t);
    __global const float *da = datt + datt_off + ATT_ROW(b, h, t);
    __global float *dp = dpreatt + dpre_off + ATT_ROW(b, h, t);
    float dot = 0.0f;
    for (int t2 = 0; t2 <= t; t2++)
        dot += a[t2] * da[t2];
    for (int t3 = 0; t3 < T; t3++)
        dp[t3] = t3 <= t ? a[t3] * (da[t3] - dot) : 0.0f;
}

/* dq_t[i] += scale * sum_{t2<=t} dpreatt[t,t2] * k_t2[i]; one work-item per (row, head, i) */
__kernel void gpt2_attn_dq(__global float *dinp, ulong dinp_off, __global const float *dpreatt,
                           ulong dpre_off, __global const float *inp, ulong inp_off, int bt0,
                           int nrows, int h0, int nh, int T, int C, int NH)
{
    int hs = C / NH;
    int idx = get_global_id(0);
    if (idx >= nrows * nh * hs) return;
    int i = idx % hs, hh = (idx / hs) % nh, r = idx / (hs * nh);
    int bt = bt0 + r, b = bt / T, t = bt % T, h = h0 + hh;
    __global const float *dp = dpreatt + dpre_off + ATT_ROW(b, h, t);
    __global const float *k = inp + inp_off + (size_t)b * T * 3 * C + C + h * hs + i;
    float s = 0.0f;
    for (int t2 = 0; t2 <= t; t2++)
        s += dp[t2] * k[(size_t)t2 * 3 * C];
    dinp[dinp_off + (size_t)bt * 3 * C + h * hs + i] += s * (1.0f / sqrt((float)hs));
}

/* Key and value gradients of key row t2 (t2 = 0 .. t1-1 of the batch) from the slice's query rows
 * t >= t2: dk_t2[i] += scale * sum_t dpreatt[t,t2] * q_t[i], dv_t2[i] += sum_t att[t,t2] *
 * dout_t[i]. One work-item per (t2, head, i) owns both elements, so no atomics. */
__kernel void gpt2_attn_dkv(__global float *dinp, ulong dinp_off, __global const float *dpreatt,
                            ulong dpre_off, __global const float *att, ulong att_off,
                            __global const float *dout, ulong dout_off, __global const float *inp,
                            ulong inp_off, int bt0, int nrows, int h0, int nh, int T, int C, int NH)
{
    int hs = C / NH;
    int b = bt0 / T, t0 = bt0 % T, t1 = t0 + nrows;
    int idx = get_global_id(0);
    if (idx >= t1 * nh * hs) return;
    int i = idx % hs, hh = (idx / hs) % nh, t2 = idx / (hs * nh);
    int h = h0 + hh;
    size_t row0 = (size_t)b * T; /* first row of the batch */
    float dk = 0.0f, dv = 0.0f;
    for (int t = max(t0, t2); t < t1; t++) {
        size_t arow = ATT_ROW(b, h, t) + t2;
        dk += dpreatt[dpre_off + arow] * inp[inp_off + (row0 + t) * 3 * C + h * hs + i];
        dv += att[att_off + arow] * dout[dout_off + (row0 + t) * C + h * hs + i];
    }
    __global float *d = dinp + dinp_off + (row0 + t2) * 3 * C + h * hs + i;
    d[C] += dk * (1.0f / sqrt((float)hs));
    d[2 * C] += dv;
}

/* ---- element-wise ops over n consecutive elements ---- */

__kernel void gpt2_gelu_fwd(__global float *out, ulong out_off, __global const float *inp,
                            ulong inp_off, int n)
{
    int i = get_global_id(0);
    if (i >= n) return;
    float x = inp[inp_off + i];
    float cube = 0.044715f * x * x * x;
    out[out_off + i] = 0.5f * x * (1.0f + tanh(GPT2_GELU_SCALE * (x + cube)));
}

__kernel void gpt2_gelu_bwd(__global float *dinp, ulong dinp_off, __global const float *inp,
                            ulong inp_off, __global const float *dout, ulong dout_off, int n)
{
    int i = get_global_id(0);
    if (i >= n) return;
    float x = inp[inp_off + i];
    float cube = 0.044715f * x * x * x;
    float arg = GPT2_GELU_SCALE * (x + cube);
    float th = tanh(arg);
    float ch = cosh(arg);
    float sech2 = 1.0f / (ch * ch);
    float grad = 0.5f * (1.0f + th) +
                 x * 0.5f * sech2 * GPT2_GELU_SCALE * (1.0f + 3.0f * 0.044715f * x * x);
    dinp[dinp_off + i] += grad * dout[dout_off + i];
}

__kernel void gpt2_residual_fwd(__global float *out, ulong out_off, __global const float *inp1,
                                ulong in1_off, __global const float *inp2, ulong in2_off, int n)
{
    int i = get_global_id(0);
    if (i >= n) return;
    out[out_off + i] = inp1[in1_off + i] + inp2[in2_off + i];
}

__kernel void gpt2_residual_bwd(__global float *dinp1, ulong d1_off, __global float *dinp2,
                                ulong d2_off, __global const float *dout, ulong dout_off, int n)
{
    int i = get_global_id(0);
    if (i >= n) return;
    float d = dout[dout_off + i];
    dinp1[d1_off + i] += d;
    dinp2[d2_off + i] += d;
}

/* ---- softmax and cross-entropy ---- */

/* one work-item per row: probs[0..V) = softmax(logits[0..V)), probs[V..Vp) = 0 */
__kernel void gpt2_softmax_fwd(__global float *probs, ulong probs_off,
                               __global const float *logits, ulong logits_off, int bt0, int nrows,
                               int V, int Vp)
{
    int r = get_global_id(0);
    if (r >= nrows) return;
    size_t row = (size_t)(bt0 + r) * Vp;
    __global const float *l = logits + logits_off + row;
    __global float *p = probs + probs_off + row;
    float maxval = -10000.0f; /* llm.c's starting value */
    for (int i = 0; i < V; i++)
        maxval = fmax(maxval, l[i]);
    float sum = 0.0f;
    for (int i = 0; i < V; i++) {
        p[i] = exp(l[i] - maxval);
        sum += p[i];
    }
    for (int i = 0; i < V; i++)
        p[i] /= sum;
    for (int i = V; i < Vp; i++)
        p[i] = 0.0f;
}

__kernel void gpt2_crossentropy_fwd(__global float *losses, ulong loss_off,
                                    __global const float *probs, ulong probs_off,
                                    __global const int *targets, ulong tgt_off, int bt0, int nrows,
                                    int Vp)
{
    int r = get_global_id(0);
    if (r >= nrows) return;
    int bt = bt0 + r;
    losses[loss_off + bt] = -log(probs[probs_off + (size_t)bt * Vp + targets[tgt_off + bt]]);
}

/* one work-item per (row, i < V) */
__kernel void gpt2_crossentropy_softmax_bwd(__global float *dlogits, ulong dl_off,
                                            __global const float *probs, ulong probs_off,
                                            __global const int *targets, ulong tgt_off, float dloss,
                                            int bt0, int nrows, int V, int Vp)
{
    int idx = get_global_id(0);
    if (idx >= nrows * V) return;
    int bt = bt0 + idx / V, i = idx % V;
    size_t e = (size_t)bt * Vp + i;
    float indicator = i == targets[tgt_off + bt] ? 1.0f : 0.0f;
    dlogits[dl_off + e] += (probs[probs_off + e] - indicator) * dloss;
}

/* ---- AdamW over n parameters; the bias corrections 1 - beta^step come from the host ---- */

__kernel void gpt2_adamw(__global float *params, ulong p_off, __global float *m, ulong m_off,
                         __global float *v, ulong v_off, __global const float *grads, ulong g_off,
                         int n, float lr, float beta1, float beta2, float eps, float weight_decay,
                         float bc1, float bc2)
{
    int i = get_global_id(0);
    if (i >= n) return;
    float g = grads[g_off + i];
    float mi = beta1 * m[m_off + i] + (1.0f - beta1) * g;
    float vi = beta2 * v[v_off + i] + (1.0f - beta2) * g * g;
    m[m_off + i] = mi;
    v[v_off + i] = vi;
    float mhat = mi / bc1, vhat = vi / bc2;
    float p = params[p_off + i];
    params[p_off + i] = p - lr * (mhat / (sqrt(vhat) + eps) + weight_decay * p);
}
