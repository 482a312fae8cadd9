/*
 * main.c: nodus-gpt2, GPT-2 pre-training on nodus. Dispatches to the subcommands:
 *   prepare   tokenize text into an llm.c token file     (gpt2_prepare.h)
 *   init      write a randomly initialised model file    (gpt2_prepare.h)
 *   train     train, validate, sample, checkpoint          (gpt2_train.h)
 *   sample    a text sample from a model                   (gpt2_train.h)
 */
#include "gpt2_prepare.h"
#include "gpt2_train.h"

#include <stdio.h>
#include <string.h>

static void main_usage(FILE *f)
{
    fprintf(f, "usage: nodus-gpt2 COMMAND [options]   (COMMAND --help for its options)\n"
               "  prepare [TEXT...] OUT.bin   tokenize texts (default: the jargon corpus)\n"
               "  init [--layers L ...]       write a randomly initialised model\n"
               "  train --model M --data D    train with nodus tasks (or --forkjoin)\n"
               "  sample --model M            generate text from a model\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        main_usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        main_usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "prepare")) return gpt2_prepare_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "init")) return gpt2_init_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "train")) return gpt2_train_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "sample")) return gpt2_sample_main(argc - 1, argv + 1);
    fprintf(stderr, "nodus-gpt2: unknown command '%s'\n", cmd);
    main_usage(stderr);
    return 2;
}
