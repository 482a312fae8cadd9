/*
 * gpt2_io_cli.c: runs gpt2_io's commands without the training program, for tests and
 * measurements: `gpt2_io_cli prepare ...`, `gpt2_io_cli init ...`, and `gpt2_io_cli encode
 * [--bpe-dir DIR] TEXT` (prints the ids of TEXT, one line).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpt2_bpe.h"
#include "gpt2_prepare.h"

/* encode [--bpe-dir DIR] TEXT: the ids, space-separated, on one line. */
static int cli_encode(int argc, char **argv)
{
    const char *dir = getenv("NODUS_GPT2_DATA");
    int i = 1;
    if (argc > 2 && strcmp(argv[1], "--bpe-dir") == 0) {
        dir = argv[2];
        i = 3;
    }
    if (i != argc - 1) {
        fprintf(stderr, "usage: gpt2_io_cli encode [--bpe-dir DIR] TEXT\n");
        return 2;
    }
    char err[512];
    gpt2_bpe_t *bpe;
    if (gpt2_bpe_load_dir(&bpe, dir ? dir : GPT2_BPE_DIR, err, sizeof(err)) != 0) {
        fprintf(stderr, "encode: %s\n", err);
        return 1;
    }
    gpt2_tokens_t t = {0};
    int rc = gpt2_bpe_encode(bpe, argv[i], strlen(argv[i]), &t);
    for (size_t k = 0; rc == 0 && k < t.len; k++)
        printf("%s%d", k ? " " : "", t.ids[k]);
    printf("\n");
    gpt2_tokens_free(&t);
    gpt2_bpe_free(bpe);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "prepare") == 0) return gpt2_prepare_main(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "init") == 0) return gpt2_init_main(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "encode") == 0) return cli_encode(argc - 1, argv + 1);
    fprintf(stderr, "usage: gpt2_io_cli prepare|init|encode ...\n");
    return 2;
}
