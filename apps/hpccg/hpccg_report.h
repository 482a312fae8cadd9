/*
 * hpccg_report.h: the reference HPCCG's YAML summary (iterations, final residual, time, FLOPs
 * and MFLOPS per kernel), followed by nodus's own keys.
 */
#ifndef HPCCG_REPORT_H
#define HPCCG_REPORT_H

#include <stdio.h>

#include "hpccg.h"

/* Writes the summary of `res` for the run described by `opts` and `pb` to `out`. `mode` names
 * the execution ("tasks", "forkjoin", "forkjoin-standalone"), `ncores` the daemon's cores (0: no
 * daemon). */
void hpccg_report_yaml(FILE *out, const hpccg_opts_t *opts, const hpccg_problem_t *pb,
                       const hpccg_result_t *res, const char *mode, int ncores);

/* Writes the summary to stdout and to opts->yaml (default: the reference's
 * hpccg-1.0_YYYY_MM_DD__HH_MM_SS.yaml in the working directory). Returns 0 or -1. */
int hpccg_report(const hpccg_opts_t *opts, const hpccg_problem_t *pb, const hpccg_result_t *res,
                 const char *mode, int ncores);

#endif
