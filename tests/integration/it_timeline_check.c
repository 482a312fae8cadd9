/*
 * it_timeline_check: merges it_busy timeline files and proves that no two task bodies ever ran
 * at the same time on one core, node-wide (across every client process), and that every core
 * used is in the daemon's core list.
 *
 *   it_timeline_check --cores 0,1 [--expect-tasks N] FILE...
 * Multi-core tasks (ncores > 1) are checked on their first core only (the others are idle
 * reservations inside the same body).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ev {
    int cpu;
    unsigned long long start, end;
    char job[64];
    size_t idx;
} ev_t;

static int cmp_ev(const void *a, const void *b)
{
    const ev_t *x = a, *y = b;
    if (x->cpu != y->cpu) return x->cpu - y->cpu;
    return (x->start > y->start) - (x->start < y->start);
}

int main(int argc, char **argv)
{
    int allowed[4096] = {0}, have_allowed = 0;
    long expect = -1;
    size_t n = 0, cap = 1024;
    ev_t *ev = malloc(cap * sizeof *ev);
    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--cores") && a + 1 < argc) {
            char *s = argv[++a], *tok, *save;
            for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                int c = atoi(tok);
                if (c >= 0 && c < 4096) allowed[c] = 1;
            }
            have_allowed = 1;
            continue;
        }
        if (!strcmp(argv[a], "--expect-tasks") && a + 1 < argc) {
            expect = atol(argv[++a]);
            continue;
        }
        FILE *f = fopen(argv[a], "r");
        if (!f) {
            fprintf(stderr, "timeline_check: cannot open %s\n", argv[a]);
            return 1;
        }
        ev_t e;
        int nc;
        while (fscanf(f, "%d %llu %llu %63s %zu %d", &e.cpu, &e.start, &e.end, e.job, &e.idx,
                      &nc) == 6) {
            if (n == cap) {
                cap *= 2;
                ev = realloc(ev, cap * sizeof *ev);
            }
            ev[n++] = e;
        }
        fclose(f);
    }
    if (expect >= 0 && (long)n != expect) {
        fprintf(stderr, "timeline_check: %zu tasks recorded, expected %ld\n", n, expect);
        return 1;
    }
    qsort(ev, n, sizeof *ev, cmp_ev);
    size_t overlaps = 0;
    for (size_t i = 0; i < n; i++) {
        if (ev[i].cpu < 0 || ev[i].cpu >= 4096 || (have_allowed && !allowed[ev[i].cpu])) {
            fprintf(stderr, "timeline_check: %s task %zu ran on cpu %d, not a daemon core\n",
                    ev[i].job, ev[i].idx, ev[i].cpu);
            return 1;
        }
        if (i > 0 && ev[i].cpu == ev[i - 1].cpu && ev[i].start < ev[i - 1].end) {
            if (overlaps++ < 10)
                fprintf(stderr,
                        "timeline_check: overlap on cpu %d: %s/%zu [%llu,%llu) and "
                        "%s/%zu [%llu,%llu)\n",
                        ev[i].cpu, ev[i - 1].job, ev[i - 1].idx, ev[i - 1].start, ev[i - 1].end,
                        ev[i].job, ev[i].idx, ev[i].start, ev[i].end);
        }
    }
    printf("timeline_check: %zu task bodies, %zu overlaps\n", n, overlaps);
    free(ev);
    return overlaps ? 1 : 0;
}
