/*
 * gpt2_train.c: the training loop of `nodus-gpt2 train` and its command line.
 *
 * Set-up order matters: the nodus session first (libnodus must make the process's first OpenCL
 * call), then the device implementations, then the arenas (CUDA managed memory when CUDA kernels
 * may run), registered with OpenCL, then the graph. Each step loads the next batch into the
 * token arena, runs the step (one taskwait, or the fork-join loops), and prints one line.
 * Validation and sampling are forward passes between steps; the checkpoint is llm.c's model
 * file of the final parameters (AdamW's moments are not part of that format).
 */
#include "gpt2_train.h"

#include "gpt2_data.h"
#include "gpt2_forkjoin.h"
#include "gpt2_model.h"
#include "gpt2_ops.h"
#include "gpt2_tokenizer.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* What runs the steps: a graph on a nodus session, or the fork-join loops. */
typedef struct {
    const gpt2_train_opts_t *o;
    nodus_t *n;
    gpt2_state_t *st;
    gpt2_graph_t *graph;
    gpt2_forkjoin_t *fj;
    bool ocl, cuda; /* initialised */
    uint64_t rng;
} train_t;

static double train_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void gpt2_train_defaults(gpt2_train_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->out = "gpt2_checkpoint.bin";
    o->batch = 4;
    o->seq = 64;
    o->steps = 20;
    o->adamw = (gpt2_adamw_t){
        .lr = 3e-4f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.0f};
    o->seed = 1337;
    o->val_every = 0;
    o->val_batches = 4;
    o->sample_len = 32;
    o->impl = GPT2_IMPL_CPU;
    o->b_gran = 1;
    o->t_gran = 0;
    o->oc_split = 4;
}

static int train_forward(train_t *tr, float *loss)
{
    return tr->graph ? gpt2_graph_forward(tr->graph, loss) : gpt2_forkjoin_forward(tr->fj, loss);
}

static int train_step(train_t *tr, int step, float *loss)
{
    float lr = tr->o->adamw.lr;
    return tr->graph ? gpt2_graph_step(tr->graph, step, lr, loss)
                     : gpt2_forkjoin_step(tr->fj, step, lr, loss);
}

/* Mean loss over the first val_batches batches of the validation file. */
static int train_validate(train_t *tr, gpt2_loader_t *val, float *mean, int *nbatches)
{
    const gpt2_train_opts_t *o = tr->o;
    size_t nb = gpt2_loader_num_batches(val);
    int count = o->val_batches < (int)nb ? o->val_batches : (int)nb;
    double sum = 0;
    gpt2_loader_reset(val);
    for (int i = 0; i < count; i++) {
        gpt2_loader_next(val, tr->st->inputs, tr->st->targets);
        float loss;
        int rc = train_forward(tr, &loss);
        if (rc != 0) return rc;
        sum += loss;
    }
    *mean = (float)(sum / count);
    *nbatches = count;
    return 0;
}

/* xorshift64*: a uniform float in [0, 1), deterministic for the seed. */
static float train_random(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (float)((*s * 0x2545F4914F6CDD1DULL) >> 40) / 16777216.0f;
}

/* Greedy: the most likely token; otherwise one drawn from probs[0, V) at temperature 1. */
static int train_pick(const float *probs, int V, bool greedy, uint64_t *rng)
{
    if (greedy) {
        int best = 0;
        for (int i = 1; i < V; i++)
            if (probs[i] > probs[best]) best = i;
        return best;
    }
    float coin = train_random(rng), cdf = 0;
    for (int i = 0; i < V; i++) {
        cdf += probs[i];
        if (coin < cdf) return i;
    }
    return V - 1;
}

/* Generates sample_len tokens after <|endoftext|> with full-T forward passes (as llm.c) and
 * prints them decoded, or as ids without a tokenizer file. */
static int train_sample(train_t *tr, const gpt2_tokenizer_t *tok)
{
    gpt2_state_t *st = tr->st;
    int T = st->T, V = st->cfg.vocab_size, Vp = st->cfg.padded_vocab_size;
    int len = tr->o->sample_len < T ? tr->o->sample_len : T - 1;
    int eot = tok ? gpt2_tokenizer_eot(tok) : GPT2_BPE_EOT;
    if (eot < 0 || eot >= V) eot = 0;
    int32_t *ids = malloc((size_t)(len + 1) * sizeof *ids);
    if (!ids) return -ENOMEM;
    for (size_t i = 0; i < (size_t)st->B * T; i++) {
        st->inputs[i] = eot;
        st->targets[i] = 0;
    }
    int rc = 0;
    for (int t = 1; t <= len && rc == 0; t++) {
        float loss;
        rc = train_forward(tr, &loss);
        if (rc != 0) break;
        const float *probs = st->act_t[GPT2_ACT_PROBS] + (size_t)(t - 1) * Vp;
        int next = train_pick(probs, V, tr->o->greedy, &tr->rng);
        ids[t - 1] = next;
        if (t < T) st->inputs[t] = next;
    }
    if (rc == 0) {
        char *text = NULL;
        size_t tlen = 0;
        if (tok && gpt2_tokenizer_decode_all(tok, ids, (size_t)len, &text, &tlen) == 0) {
            for (size_t i = 0; i < tlen; i++) /* one line: control bytes shown as spaces */
                if ((unsigned char)text[i] < 0x20) text[i] = ' ';
            printf("sample: %s\n", text);
            free(text);
        } else {
            printf("sample (token ids):");
            for (int i = 0; i < len; i++)
                printf(" %d", ids[i]);
            printf("\n");
        }
    }
    free(ids);
    return rc;
}

/* The tokenizer file: --tokenizer, else gpt2_tokenizer.bin beside the data (prepare's). */
static gpt2_tokenizer_t *train_tokenizer(const gpt2_train_opts_t *o)
{
    char path[4096];
    if (o->tokenizer) {
        snprintf(path, sizeof path, "%s", o->tokenizer);
    } else {
        const char *near = o->data ? o->data : o->model; /* sample: beside the model */
        const char *slash = strrchr(near, '/');
        int dir = slash ? (int)(slash - near) + 1 : 0;
        snprintf(path, sizeof path, "%.*sgpt2_tokenizer.bin", dir, near);
    }
    gpt2_tokenizer_t *tok = NULL;
    char err[256];
    if (gpt2_tokenizer_read(&tok, path, err, sizeof err) != 0) {
        if (o->tokenizer) fprintf(stderr, "nodus-gpt2: %s: %s (printing token ids)\n", path, err);
        return NULL;
    }
    return tok;
}

static const char *train_impl_name(gpt2_impl_t impl)
{
    static const char *const names[] = {"cpu", "opencl", "cuda", "mixed"};
    return names[impl];
}

/* Session and device kernels; decides the memory and the implementations offered. */
static int train_setup_devices(train_t *tr, gpt2_mem_t *mem, unsigned *impls)
{
    const gpt2_train_opts_t *o = tr->o;
    *mem = GPT2_MEM_HOST;
    *impls = 0;
    int rc = nodus_open(&tr->n, "nodus-gpt2", o->socket);
    if (rc < 0) {
        fprintf(stderr, "nodus-gpt2: cannot open a nodus session: %s\n", nodus_strerror(rc));
        return rc;
    }
    if (o->impl == GPT2_IMPL_CPU || o->impl == GPT2_IMPL_MIXED) *impls |= GPT2_GRAPH_CPU;
#ifdef GPT2_TRAIN_CUDA
    if (o->impl == GPT2_IMPL_CUDA || o->impl == GPT2_IMPL_MIXED) {
        tr->cuda = gpt2_cuda_init(tr->n) == 0;
        if (tr->cuda) {
            *impls |= GPT2_GRAPH_CUDA;
            *mem = GPT2_MEM_CUDA;
        }
    }
#endif
#ifdef GPT2_TRAIN_OPENCL
    if (o->impl == GPT2_IMPL_OPENCL || o->impl == GPT2_IMPL_MIXED) {
        tr->ocl = gpt2_ocl_init(tr->n) == 0;
        if (tr->ocl) *impls |= GPT2_GRAPH_OPENCL;
    }
#endif
    if ((o->impl == GPT2_IMPL_CUDA && !tr->cuda) || (o->impl == GPT2_IMPL_OPENCL && !tr->ocl)) {
        fprintf(stderr, "nodus-gpt2: --impl %s: no usable %s device in this build or session\n",
                train_impl_name(o->impl), o->impl == GPT2_IMPL_CUDA ? "CUDA" : "OpenCL");
        return 77;
    }
    return 0;
}

static void train_teardown(train_t *tr)
{
    gpt2_graph_destroy(tr->graph);
    gpt2_forkjoin_destroy(tr->fj);
#ifdef GPT2_TRAIN_OPENCL
    if (tr->ocl) gpt2_ocl_fini();
#endif
    gpt2_state_destroy(tr->st);
#ifdef GPT2_TRAIN_CUDA
    if (tr->cuda) gpt2_cuda_fini();
#endif
    if (tr->n) {
        int rc = nodus_close(tr->n);
        if (rc < 0) fprintf(stderr, "nodus-gpt2: session: %s\n", nodus_strerror(rc));
    }
}

/* Loads the model and builds the runner. 0, 77 (no such device) or another failure. */
static int train_setup(train_t *tr, gpt2_loader_t *ld, gpt2_loader_t *val)
{
    const gpt2_train_opts_t *o = tr->o;
    gpt2_config_t cfg;
    float *params = NULL;
    char err[256];
    int rc = gpt2_model_read(o->model, &cfg, &params, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "nodus-gpt2: %s: %s\n", o->model, err);
        return 1;
    }
    int max_token = ld ? gpt2_loader_max_token(ld) : 0;
    if (val && gpt2_loader_max_token(val) > max_token) max_token = gpt2_loader_max_token(val);
    if (max_token >= cfg.vocab_size || o->seq > cfg.max_seq_len) {
        fprintf(stderr, "nodus-gpt2: the data hold token %d, the model has %d (or --seq %d > %d)\n",
                max_token, cfg.vocab_size, o->seq, cfg.max_seq_len);
        free(params);
        return 1;
    }
    gpt2_mem_t mem = GPT2_MEM_HOST;
    unsigned impls = GPT2_GRAPH_CPU;
    if (!o->forkjoin) {
        rc = train_setup_devices(tr, &mem, &impls);
        if (rc != 0) {
            free(params);
            return rc == 77 ? 77 : 1;
        }
    }
    gpt2_cpu_init();
    rc = gpt2_state_create(&tr->st, &cfg, params, o->batch, o->seq, mem);
    free(params);
    if (rc != 0) {
        fprintf(stderr, "nodus-gpt2: cannot allocate the model's buffers: %s\n", strerror(-rc));
        return 1;
    }
#ifdef GPT2_TRAIN_OPENCL
    if (tr->ocl && (rc = gpt2_state_each_arena(tr->st, gpt2_ocl_register)) != 0) {
        fprintf(stderr, "nodus-gpt2: cannot register the arenas with OpenCL (%d)\n", rc);
        return 1;
    }
#endif
    if (o->forkjoin) {
        rc = gpt2_forkjoin_create(&tr->fj, tr->st, &o->adamw);
    } else {
        gpt2_graph_opts_t go = {
            .b_gran = o->b_gran, .t_gran = o->t_gran, .oc_split = o->oc_split, .impls = impls};
        rc = gpt2_graph_create(&tr->graph, tr->n, tr->st, &go, &o->adamw);
    }
    if (rc != 0) {
        fprintf(stderr, "nodus-gpt2: cannot build the step: %s\n",
                rc == -ENOMEM   ? "out of memory"
                : rc == -EINVAL ? "bad options"
                                : nodus_strerror(rc));
        return 1;
    }
    if (!o->quiet) {
        printf("model %s: L=%d NH=%d C=%d V=%d (Vp %d), %zu parameters; batch %d x %d\n", o->model,
               cfg.num_layers, cfg.num_heads, cfg.channels, cfg.vocab_size, cfg.padded_vocab_size,
               tr->st->num_params, o->batch, o->seq);
        if (tr->fj)
            printf("fork-join: %d OpenMP threads\n", gpt2_forkjoin_threads(tr->fj));
        else
            printf("tasks: --impl %s, %zu per step (forward %zu), b-gran %d t-gran %d oc-split "
                   "%d, %zu coarse writes, %d cores\n",
                   train_impl_name(o->impl), gpt2_graph_num_tasks(tr->graph, false),
                   gpt2_graph_num_tasks(tr->graph, true), o->b_gran, o->t_gran ? o->t_gran : o->seq,
                   o->oc_split, gpt2_graph_num_coarse(tr->graph), nodus_num_cores(tr->n));
    }
    return 0;
}

/* The loop: steps, validation every val_every steps and at the end, a sample, the checkpoint. */
static int train_loop(train_t *tr, gpt2_loader_t *ld, gpt2_loader_t *val)
{
    const gpt2_train_opts_t *o = tr->o;
    double tokens = (double)o->batch * o->seq, total_s = 0;
    int timed = 0;
    for (int step = 1; step <= o->steps; step++) {
        gpt2_loader_next(ld, tr->st->inputs, tr->st->targets);
        double t0 = train_now();
        float loss;
        int rc = train_step(tr, step, &loss);
        double s = train_now() - t0;
        if (rc != 0) {
            fprintf(stderr, "nodus-gpt2: step %d: %s\n", step, nodus_strerror(rc));
            return 1;
        }
        if (step > 1 || o->steps == 1) { /* the first step warms caches and models up */
            total_s += s;
            timed++;
        }
        printf("step %d/%d: loss %.4f (%.1f ms, %.0f tok/s)\n", step, o->steps, loss, s * 1e3,
               tokens / s);
        fflush(stdout);
        if (!isfinite(loss)) {
            fprintf(stderr, "nodus-gpt2: the loss is not finite at step %d\n", step);
            return 1;
        }
        if (val && o->val_every > 0 && step % o->val_every == 0 && step < o->steps) {
            float vl;
            int nb;
            if (train_validate(tr, val, &vl, &nb) != 0) return 1;
            printf("val loss %.4f (%d batches) at step %d\n", vl, nb, step);
        }
    }
    if (timed > 0)
        printf("mean: %.1f ms/step, %.0f tok/s over %d steps (%s%s)\n", total_s / timed * 1e3,
               tokens * timed / total_s, timed, o->forkjoin ? "fork-join" : "tasks --impl ",
               o->forkjoin ? "" : train_impl_name(o->impl));
    /* sessions recovered after nodusd restarted (docs/protocol.md, "Daemon restarts") */
    if (tr->n && o->steps > 0) printf("reconnects: %u\n", nodus_reconnect_count(tr->n));
    if (val) {
        float vl;
        int nb;
        if (train_validate(tr, val, &vl, &nb) != 0) return 1;
        printf("val loss %.4f (%d batches) at step %d\n", vl, nb, o->steps);
    }
    if (o->sample_len > 0) {
        gpt2_tokenizer_t *tok = train_tokenizer(o);
        int rc = train_sample(tr, tok);
        gpt2_tokenizer_free(tok);
        if (rc != 0) return 1;
    }
    if (o->out && o->out[0]) {
        int rc = gpt2_model_write(o->out, &tr->st->cfg, tr->st->params);
        if (rc != 0) {
            fprintf(stderr, "nodus-gpt2: cannot write %s: %s\n", o->out, strerror(-rc));
            return 1;
        }
        printf("checkpoint: %s\n", o->out);
    }
    return 0;
}

int gpt2_train_run(const gpt2_train_opts_t *o)
{
    train_t tr = {.o = o, .rng = o->seed ? o->seed : 1};
    gpt2_loader_t *ld = NULL, *val = NULL;
    char err[256];
    if (o->data && /* sample has none */
        gpt2_loader_open(&ld, o->data, o->batch, o->seq, o->shuffle, o->seed, err, sizeof err)) {
        fprintf(stderr, "nodus-gpt2: %s: %s\n", o->data, err);
        return 1;
    }
    if (o->val &&
        gpt2_loader_open(&val, o->val, o->batch, o->seq, false, 0, err, sizeof err) != 0) {
        fprintf(stderr, "nodus-gpt2: %s: %s\n", o->val, err);
        gpt2_loader_close(ld);
        return 1;
    }
    int rc = train_setup(&tr, ld, val);
    if (rc == 0) rc = train_loop(&tr, ld, val);
    train_teardown(&tr);
    gpt2_loader_close(ld);
    gpt2_loader_close(val);
    return rc;
}

/* ---- command line ---- */

static void train_usage(FILE *f)
{
    fprintf(f,
            "usage: nodus-gpt2 train --model M --data D [options]\n"
            "  --model PATH        llm.c model file (nodus-gpt2 init writes one)\n"
            "  --data PATH         llm.c token file (nodus-gpt2 prepare writes one)\n"
            "  --val PATH          validation token file\n"
            "  --batch B           sequences per batch (4)\n"
            "  --seq T             tokens per sequence (64)\n"
            "  --steps S           training steps (20; 0: validate and sample only)\n"
            "  --lr, --beta1, --beta2, --eps, --weight-decay   AdamW (3e-4 0.9 0.999 1e-8 0)\n"
            "  --shuffle           shuffle the sequences per epoch (seeded); default in order\n"
            "  --seed N            shuffle and sampling seed (1337)\n"
            "  --val-every K       validation loss every K steps (0: at the end only)\n"
            "  --val-batches N     batches per validation (4)\n"
            "  --sample-len N      tokens of the text sample at the end (32; 0: none)\n"
            "  --greedy            sample the most likely token instead of drawing one\n"
            "  --tokenizer PATH    llm.c tokenizer file (default gpt2_tokenizer.bin beside D)\n"
            "  --out PATH          checkpoint written at the end (gpt2_checkpoint.bin; '' none)\n"
            "  --impl cpu|opencl|cuda|mixed   kernels the tasks offer (cpu)\n"
            "  --forkjoin          the OpenMP fork-join baseline instead of nodus tasks\n"
            "  --b-gran N          sequences per task when tasks hold whole sequences (1)\n"
            "  --t-gran N          positions per task (0: the whole sequence)\n"
            "  --oc-split N        output-channel slices per matmul, head groups (4)\n"
            "  --socket PATH       nodusd socket (default: discovery, see nodus.h)\n"
            "  --quiet             no set-up lines\n");
}

static void train_sample_usage(FILE *f)
{
    fprintf(f, "usage: nodus-gpt2 sample --model M [options]\n"
               "  --model PATH        llm.c model file or checkpoint\n"
               "  --sample-len N      tokens to generate (32)\n"
               "  --greedy            take the most likely token instead of drawing one\n"
               "  --seed N            sampling seed (1337)\n"
               "  --tokenizer PATH    llm.c tokenizer file (default gpt2_tokenizer.bin beside M)\n"
               "  --impl cpu|opencl|cuda|mixed   kernels the tasks offer (cpu)\n"
               "  --forkjoin          the OpenMP fork-join baseline instead of nodus tasks\n"
               "  --b-gran N, --t-gran N, --oc-split N   task cut, as for train\n"
               "  --socket PATH       nodusd socket (default: discovery, see nodus.h)\n"
               "  --quiet             no set-up lines\n");
}

/* If argv[*i] is option `name` ("--name V" or "--name=V"), sets *value and advances *i. */
static bool train_opt(int argc, char **argv, int *i, const char *name, const char **value)
{
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n) != 0 || (a[n] != '\0' && a[n] != '=')) return false;
    if (a[n] == '=') {
        *value = a + n + 1;
    } else if (*i + 1 < argc) {
        *value = argv[++*i];
    } else {
        *value = NULL;
    }
    return true;
}

static bool train_int(const char *s, int min, int *out)
{
    char *end;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || *end || end == s || v < min || v > 1 << 30) return false;
    *out = (int)v;
    return true;
}

static bool train_float(const char *s, float *out)
{
    char *end;
    float v = s ? strtof(s, &end) : 0;
    if (!s || *end || end == s || !isfinite(v) || v < 0) return false;
    *out = v;
    return true;
}

/* Parses argv into *o (defaults already set): 0, 1 after --help, 2 for a usage error. `usage`
 * prints the subcommand's help. */
static int train_parse(int argc, char **argv, gpt2_train_opts_t *opts, void (*usage)(FILE *))
{
    gpt2_train_opts_t o = *opts;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL, *a = argv[i];
        bool ok = true;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 1;
        } else if (!strcmp(a, "--shuffle")) {
            o.shuffle = true;
        } else if (!strcmp(a, "--greedy")) {
            o.greedy = true;
        } else if (!strcmp(a, "--forkjoin")) {
            o.forkjoin = true;
        } else if (!strcmp(a, "--quiet")) {
            o.quiet = true;
        } else if (train_opt(argc, argv, &i, "--model", &v)) {
            ok = (o.model = v) != NULL;
        } else if (train_opt(argc, argv, &i, "--data", &v)) {
            ok = (o.data = v) != NULL;
        } else if (train_opt(argc, argv, &i, "--val-every", &v)) {
            ok = train_int(v, 0, &o.val_every);
        } else if (train_opt(argc, argv, &i, "--val-batches", &v)) {
            ok = train_int(v, 1, &o.val_batches);
        } else if (train_opt(argc, argv, &i, "--val", &v)) {
            ok = (o.val = v) != NULL;
        } else if (train_opt(argc, argv, &i, "--out", &v)) {
            ok = (o.out = v) != NULL;
        } else if (train_opt(argc, argv, &i, "--tokenizer", &v)) {
            ok = (o.tokenizer = v) != NULL;
        } else if (train_opt(argc, argv, &i, "--socket", &v)) {
            ok = (o.socket = v) != NULL;
        } else if (train_opt(argc, argv, &i, "--batch", &v)) {
            ok = train_int(v, 1, &o.batch);
        } else if (train_opt(argc, argv, &i, "--seq", &v)) {
            ok = train_int(v, 1, &o.seq);
        } else if (train_opt(argc, argv, &i, "--steps", &v)) {
            ok = train_int(v, 0, &o.steps);
        } else if (train_opt(argc, argv, &i, "--lr", &v)) {
            ok = train_float(v, &o.adamw.lr);
        } else if (train_opt(argc, argv, &i, "--beta1", &v)) {
            ok = train_float(v, &o.adamw.beta1) && o.adamw.beta1 < 1;
        } else if (train_opt(argc, argv, &i, "--beta2", &v)) {
            ok = train_float(v, &o.adamw.beta2) && o.adamw.beta2 < 1;
        } else if (train_opt(argc, argv, &i, "--eps", &v)) {
            ok = train_float(v, &o.adamw.eps);
        } else if (train_opt(argc, argv, &i, "--weight-decay", &v)) {
            ok = train_float(v, &o.adamw.weight_decay);
        } else if (train_opt(argc, argv, &i, "--seed", &v)) {
            char *end;
            o.seed = v ? strtoull(v, &end, 10) : 0;
            ok = v && *v && !*end;
        } else if (train_opt(argc, argv, &i, "--sample-len", &v)) {
            ok = train_int(v, 0, &o.sample_len);
        } else if (train_opt(argc, argv, &i, "--impl", &v)) {
            static const char *const names[] = {"cpu", "opencl", "cuda", "mixed"};
            ok = false;
            for (int k = 0; k < 4 && v; k++)
                if (!strcmp(v, names[k])) {
                    o.impl = (gpt2_impl_t)k;
                    ok = true;
                }
        } else if (train_opt(argc, argv, &i, "--b-gran", &v)) {
            ok = train_int(v, 1, &o.b_gran);
        } else if (train_opt(argc, argv, &i, "--t-gran", &v)) {
            ok = train_int(v, 0, &o.t_gran);
        } else if (train_opt(argc, argv, &i, "--oc-split", &v)) {
            ok = train_int(v, 1, &o.oc_split);
        } else {
            fprintf(stderr, "nodus-gpt2 %s: unknown option %s\n",
                    usage == train_usage ? "train" : "sample", a);
            usage(stderr);
            return 2;
        }
        if (!ok) {
            fprintf(stderr, "nodus-gpt2 %s: bad value for %s\n",
                    usage == train_usage ? "train" : "sample", a);
            return 2;
        }
    }
    *opts = o;
    return 0;
}

int gpt2_train_main(int argc, char **argv)
{
    gpt2_train_opts_t o;
    gpt2_train_defaults(&o);
    int rc = train_parse(argc, argv, &o, train_usage);
    if (rc != 0) return rc == 1 ? 0 : rc;
    if (!o.model || !o.data) {
        fprintf(stderr, "nodus-gpt2 train: --model and --data are required\n");
        train_usage(stderr);
        return 2;
    }
    return gpt2_train_run(&o);
}

int gpt2_sample_main(int argc, char **argv)
{
    gpt2_train_opts_t o;
    gpt2_train_defaults(&o);
    o.steps = 0;
    o.batch = 1;
    o.out = "";
    o.seq = 0;
    int rc = train_parse(argc, argv, &o, train_sample_usage);
    if (rc != 0) return rc == 1 ? 0 : rc;
    if (!o.model || o.data || o.val || o.steps != 0) {
        train_sample_usage(stderr);
        return 2;
    }
    if (o.seq == 0) o.seq = o.sample_len + 1; /* the forward passes cover the sample */
    return gpt2_train_run(&o);
}
