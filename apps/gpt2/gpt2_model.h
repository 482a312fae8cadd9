/*
 * gpt2_model.h: GPT-2's shape, its 16 parameter tensors in llm.c's order, and the model file.
 *
 * The layout is llm.c's, so checkpoints move between this app and llm.c unchanged: one flat fp32
 * array holding, in order, wte[Vp,C] wpe[maxT,C] ln1w[L,C] ln1b[L,C] qkvw[L,3C,C] qkvb[L,3C]
 * attprojw[L,C,C] attprojb[L,C] ln2w[L,C] ln2b[L,C] fcw[L,4C,C] fcb[L,4C] fcprojw[L,C,4C]
 * fcprojb[L,C] lnfw[C] lnfb[C]. Weights are [out, in] (row = output channel), as PyTorch's
 * nn.Linear. The model file is a 256-int32 header (magic 20240326, version 3 = fp32, maxT, V,
 * L, NH, C, Vp) followed by that array.
 */
#ifndef GPT2_MODEL_H
#define GPT2_MODEL_H

#include <stddef.h>
#include <stdint.h>

#define GPT2_MODEL_MAGIC 20240326
#define GPT2_MODEL_VERSION_FP32 3
#define GPT2_NUM_PARAM_TENSORS 16

/* The shape of a model. */
typedef struct {
    int max_seq_len;       /* maxT: positions in wpe (1024 for GPT-2) */
    int vocab_size;        /* V: real tokens (50257) */
    int padded_vocab_size; /* Vp: V rounded up (50304); logits/probs rows are Vp wide */
    int num_layers;        /* L */
    int num_heads;         /* NH; C % NH == 0 */
    int channels;          /* C */
} gpt2_config_t;

/* Indices of the parameter tensors, in file order. */
enum {
    GPT2_WTE, GPT2_WPE, GPT2_LN1W, GPT2_LN1B, GPT2_QKVW, GPT2_QKVB, GPT2_ATTPROJW,
    GPT2_ATTPROJB, GPT2_LN2W, GPT2_LN2B, GPT2_FCW, GPT2_FCB, GPT2_FCPROJW, GPT2_FCPROJB,
    GPT2_LNFW, GPT2_LNFB,
};

/* Number of floats in each parameter tensor, in file order (sizes[GPT2_NUM_PARAM_TENSORS]). */
void gpt2_param_sizes(const gpt2_config_t *cfg, size_t sizes[GPT2_NUM_PARAM_TENSORS]);
/* Total number of parameters (floats). */
size_t gpt2_num_params(const gpt2_config_t *cfg);

/* Checks a shape (positive, C % NH == 0, V <= Vp, ...); 0 or -EINVAL. */
int gpt2_config_check(const gpt2_config_t *cfg);

/*
 * Reads a model file: fills *cfg and returns in *params a malloc'd array of gpt2_num_params()
 * floats (caller frees), or with `params` NULL only reads the header. 0 or a negative errno
 * (-EINVAL for a bad magic, version or shape, -EIO for a short file); `err` (may be NULL) gets a
 * one-line reason.
 */
int gpt2_model_read(const char *path, gpt2_config_t *cfg, float **params, char *err,
                    size_t errlen);
/* Writes a model file (header + params); 0 or a negative errno. */
int gpt2_model_write(const char *path, const gpt2_config_t *cfg, const float *params);

/*
 * Fills params with GPT-2's initialisation, deterministic for a seed: weights N(0, 0.02), the
 * two residual projections (attprojw, fcprojw) N(0, 0.02/sqrt(2L)), layernorm weights 1, biases
 * 0, and the padded rows of wte (V..Vp) 0.
 */
void gpt2_model_init(const gpt2_config_t *cfg, float *params, uint64_t seed);

#endif
