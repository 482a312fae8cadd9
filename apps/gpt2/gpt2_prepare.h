/*
 * gpt2_prepare.h: the `nodus-gpt2 prepare` and `nodus-gpt2 init` commands.
 *
 *   prepare [options] [TEXT...] OUT.bin   tokenize texts into an llm.c token file
 *   init [options]                        write a randomly initialised llm.c model file
 *
 * Both take argv as the nodus-gpt2 program passes it after the command word is consumed:
 * argv[0] is the command name ("prepare", "init"), options and operands follow. They print to
 * stdout/stderr and return the process exit status (0 done, 1 failed, 2 bad usage); they never
 * exit or abort, and keep no global state (argument parsing is their own, not getopt's).
 */
#ifndef GPT2_PREPARE_H
#define GPT2_PREPARE_H

#include <stdint.h>

#include "gpt2_model.h"

/* Default corpus (Debian's jargon-text) when prepare is given OUT.bin only. */
#define GPT2_DEFAULT_CORPUS "/usr/share/doc/jargon-text/jargon.txt.gz"

/*
 * prepare: each TEXT (a path, '-' for stdin; gzip'd input is read as text when built with zlib)
 * becomes <|endoftext|> followed by its GPT-2 tokens. Options: --bpe-dir DIR (encoder.json and
 * vocab.bpe; default $NODUS_GPT2_DATA, else the source tree's data/gpt2), --val-fraction F (the
 * last F of the tokens go to a validation file), --val-out PATH (default OUT with _val before
 * .bin), --tokenizer[=PATH] (also write llm.c's tokenizer file, default gpt2_tokenizer.bin
 * next to OUT), --quiet. Prints the token count and tokens/s.
 */
int gpt2_prepare_main(int argc, char **argv);

/*
 * init: --out PATH (default gpt2_init.bin), --layers L (12), --heads NH (12), --channels C
 * (768), --max-seq T (1024), --vocab V (50257; padded to a multiple of 128), --seed S (1337).
 * The defaults are GPT-2 124M's shape. Writes the model with gpt2_model_init's initialisation.
 */
int gpt2_init_main(int argc, char **argv);

/* The shape init writes for the given dimensions: Vp = V rounded up to a multiple of 128. */
gpt2_config_t gpt2_init_config(int layers, int heads, int channels, int max_seq, int vocab);

#endif
