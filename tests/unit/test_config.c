/*
 * Unit tests for daemon/config.c (defaults, INI files, overrides, --print-config round trip) and
 * daemon/log.c (level names, line format), which config depends on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "log.h"
#include "nodus.h"
#include "nodus_limits.h"

/* Writes `text` to a new temporary file; returns its path (caller unlinks and frees). */
static char *write_temp(const char *text)
{
    char *path = strdup("/tmp/nodus-test-config-XXXXXX");
    assert_non_null(path);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t n = strlen(text);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    close(fd);
    return path;
}

/* Loads `text` as a config file over *c; err gets the message with the path cut off. */
static int load_text(nodus_config_t *c, const char *text, char *err, size_t errlen)
{
    char *path = write_temp(text);
    char full[512] = "";
    int rc = config_load_file(c, path, 0, full, sizeof full);
    size_t plen = strlen(path);
    if (rc < 0) {
        assert_memory_equal(full, path, plen); /* every message names the file first */
        snprintf(err, errlen, "%s", full + plen);
    }
    unlink(path);
    free(path);
    return rc;
}

static void test_defaults(void **state)
{
    nodus_config_t c;
    memset(&c, 0xa5, sizeof c);
    config_defaults(&c);
    assert_string_equal(c.socket_path, "");
    assert_string_equal(c.cores, "");
    assert_int_equal(c.log_level, LOG_INFO);
    assert_int_equal(c.idle_exit_s, 0);
    assert_int_equal(c.default_weight, 1);
    assert_int_equal(c.max_weight, 16);
    assert_int_equal(c.reserve_after_ms, 20);
    assert_int_equal(c.lookahead, 4);
    assert_int_equal(c.lookahead_max_us, 200);
    assert_int_equal(c.max_sessions_per_user, 64);
    assert_int_equal(c.max_outstanding_tasks, 1000000);
    assert_int_equal(c.max_message_bytes, 4u * 1024u * 1024u);
    assert_int_equal(c.devices_cuda, 1);
    assert_int_equal(c.devices_opencl, 1);
    assert_string_equal(c.devices_allow, "");
    assert_int_equal(c.devices_slots, 4);
    assert_int_equal(c.devices_max_in_flight, 64);
    assert_int_equal(c.devices_max_per_session, 32);
    assert_int_equal(c.devices_opencl_cpu_cores, 0);
    assert_int_equal(c.drain_timeout_s, 60);
    assert_string_equal(c.admin_group, "nodus");
    assert_int_equal(c.trace_enabled, 0);
    assert_int_equal(c.trace_capacity, 1u << 20);
}

static void test_file_all_keys(void **state)
{
    nodus_config_t c;
    char err[256];
    config_defaults(&c);
    int rc = load_text(&c,
                       "# a comment\n"
                       "; another one\n"
                       "[daemon]\n"
                       "socket = /run/test/nodusd.sock\n"
                       "cores = 0-3,6\n"
                       "log_level = debug\n"
                       "idle_exit = 30\n"
                       "drain_timeout_s = 5\n"
                       "admin_group = hpc-admins\n"
                       "\n"
                       "[sched]\n"
                       "default_weight=2\n"
                       "max_weight = 100\n"
                       "reserve_after_ms = 0   ; inline comment\n"
                       "lookahead = 4\n"
                       "lookahead_max_us = 50\n"
                       "[limits]\n"
                       "max_sessions_per_user = 8\n"
                       "max_outstanding_tasks = 5000\n"
                       "[devices]\n"
                       "cuda = no\n"
                       "opencl = Yes\n"
                       "allow = 1, Quadro RTX,pthread\n"
                       "slots = 2\n"
                       "max_in_flight = 16\n"
                       "max_in_flight_per_session = 8\n"
                       "opencl_cpu_cores = 3\n"
                       "[trace]\n"
                       "enabled = yes\n"
                       "capacity = 4096\n",
                       err, sizeof err);
    assert_int_equal(rc, 0);
    assert_string_equal(c.socket_path, "/run/test/nodusd.sock");
    assert_string_equal(c.cores, "0-3,6");
    assert_int_equal(c.log_level, LOG_DEBUG);
    assert_int_equal(c.idle_exit_s, 30);
    assert_int_equal(c.default_weight, 2);
    assert_int_equal(c.max_weight, 100);
    assert_int_equal(c.reserve_after_ms, 0);
    assert_int_equal(c.lookahead, 4);
    assert_int_equal(c.lookahead_max_us, 50);
    assert_int_equal(c.max_sessions_per_user, 8);
    assert_int_equal(c.max_outstanding_tasks, 5000);
    assert_int_equal(c.devices_cuda, 0);
    assert_int_equal(c.devices_opencl, 1);
    assert_string_equal(c.devices_allow, "1, Quadro RTX,pthread");
    assert_int_equal(c.devices_slots, 2);
    assert_int_equal(c.devices_max_in_flight, 16);
    assert_int_equal(c.devices_max_per_session, 8);
    assert_int_equal(c.devices_opencl_cpu_cores, 3);
    assert_int_equal(c.drain_timeout_s, 5);
    assert_string_equal(c.admin_group, "hpc-admins");
    assert_int_equal(c.trace_enabled, 1);
    assert_int_equal(c.trace_capacity, 4096);
}

static void test_file_partial_keeps_others(void **state)
{
    nodus_config_t c, d;
    char err[256];
    config_defaults(&c);
    config_defaults(&d);
    assert_int_equal(load_text(&c, "[sched]\nmax_weight = 32\n", err, sizeof err), 0);
    d.max_weight = 32;
    assert_memory_equal(&c, &d, sizeof c);
    /* an empty file changes nothing */
    assert_int_equal(load_text(&c, "", err, sizeof err), 0);
    assert_memory_equal(&c, &d, sizeof c);
}

static void test_file_missing(void **state)
{
    nodus_config_t c, d;
    char err[256] = "";
    config_defaults(&c);
    d = c;
    assert_int_equal(config_load_file(&c, "/nonexistent/nodusd.conf", 1, err, sizeof err), 0);
    assert_memory_equal(&c, &d, sizeof c);
    assert_int_equal(config_load_file(&c, "/nonexistent/nodusd.conf", 0, err, sizeof err),
                     NODUS_EINVAL);
    assert_non_null(strstr(err, "/nonexistent/nodusd.conf"));
    assert_non_null(strstr(err, "No such file"));
}

/* One bad line: the error names the line and the key, and the config is unchanged. */
static void expect_file_error(const char *text, const char *expect)
{
    nodus_config_t c, d;
    char err[256] = "";
    config_defaults(&c);
    d = c;
    assert_int_equal(load_text(&c, text, err, sizeof err), NODUS_EINVAL);
    if (!strstr(err, expect)) fail_msg("error \"%s\" lacks \"%s\"", err, expect);
    assert_memory_equal(&c, &d, sizeof c);
}

static void test_file_bad_values(void **state)
{
    expect_file_error("[sched]\nmax_weight = 8\nmax_weight = 0\n",
                      ":3: sched.max_weight: out of range");
    expect_file_error("[sched]\nmax_weight = 10001\n", ":2: sched.max_weight: out of range");
    expect_file_error("[sched]\ndefault_weight = 4x\n",
                      ":2: sched.default_weight: trailing characters");
    expect_file_error("[sched]\ndefault_weight = -1\n",
                      ":2: sched.default_weight: not a non-negative");
    expect_file_error("[sched]\ndefault_weight = +1\n",
                      ":2: sched.default_weight: not a non-negative");
    expect_file_error("[sched]\ndefault_weight =\n", ":2: sched.default_weight: not a");
    expect_file_error("[sched]\nreserve_after_ms = 99999999999999999999999\n",
                      ":2: sched.reserve_after_ms: out of range");
    expect_file_error("[sched]\nlookahead = 65\n", ":2: sched.lookahead: out of range (0-64)");
    expect_file_error("[sched]\nlookahead_max_us = 2000000\n",
                      ":2: sched.lookahead_max_us: out of range (0-1000000)");
    expect_file_error("[daemon]\nidle_exit = 1 2\n", ":2: daemon.idle_exit: trailing");
    expect_file_error("[limits]\nmax_sessions_per_user = 1000001\n",
                      ":2: limits.max_sessions_per_user: out of range");
    expect_file_error("[limits]\nmax_outstanding_tasks = 1000000001\n",
                      ":2: limits.max_outstanding_tasks: out of range");
    expect_file_error("[limits]\nmax_message_bytes = 4096\n",
                      ":2: limits.max_message_bytes: out of range (65536-4194304)");
    expect_file_error("[limits]\nmax_message_bytes = 4194305\n",
                      ":2: limits.max_message_bytes: out of range");
    expect_file_error("[daemon]\nlog_level = loud\n", ":2: daemon.log_level: unknown log level");
    expect_file_error("[daemon]\nlog_level = 8\n", ":2: daemon.log_level: unknown log level");
    expect_file_error("[daemon]\ncores = 3-1\n", ":2: daemon.cores: not a CPU list");
    expect_file_error("[daemon]\ncores = 0\n", ":2: daemon.cores: not a CPU list");
    expect_file_error("[daemon]\ncores = 1,,2\n", ":2: daemon.cores: not a CPU list");
    expect_file_error("[daemon]\ncores = 0-5000\n", ":2: daemon.cores: more than 4096 CPUs");
    expect_file_error("[daemon]\nsocket = relative/nodusd.sock\n",
                      ":2: daemon.socket: not an absolute path");
}

static void test_file_socket_length(void **state)
{
    char text[400], path[200];
    nodus_config_t c;
    char err[256];
    /* 107 bytes fit sun_path with its NUL; 108 do not */
    memset(path, 'a', sizeof path);
    path[0] = '/';
    path[107] = '\0';
    snprintf(text, sizeof text, "[daemon]\nsocket = %s\n", path);
    config_defaults(&c);
    assert_int_equal(load_text(&c, text, err, sizeof err), 0);
    assert_string_equal(c.socket_path, path);
    path[107] = 'a';
    path[108] = '\0';
    snprintf(text, sizeof text, "[daemon]\nsocket = %s\n", path);
    expect_file_error(text, ":2: daemon.socket: too long");
}

static void test_file_unknown_key(void **state)
{
    expect_file_error("[daemon]\ncores = 1\nthreads = 4\n", ":3: daemon.threads: unknown key");
    expect_file_error("[sched]\ncores = 1\n", ":2: sched.cores: unknown key");
    expect_file_error("[gpu]\nenabled = 1\n", ":2: gpu.enabled: unknown key");
    expect_file_error("cores = 1\n", ":1: cores: unknown key");
    expect_file_error("[daemon]\nCores = 1\n", ":2: daemon.Cores: unknown key");
}

static void test_file_syntax(void **state)
{
    expect_file_error("[daemon]\ncores 1\n", ":2: syntax error");
    expect_file_error("[daemon\ncores = 1\n", ":1: syntax error");
    /* the first failing line is the one reported */
    expect_file_error("[daemon]\nbogus = 1\nno equals sign\n", ":2: daemon.bogus");
    expect_file_error("[daemon]\nno equals sign\nbogus = 1\n", ":2: syntax error");
    /* an indented line would silently continue the previous value */
    expect_file_error("[daemon]\ncores = 1\n  log_level = debug\n",
                      ":3: daemon.cores: indented line");
    /* a line longer than inih's buffer is an error, not two lines */
    char text[600];
    snprintf(text, sizeof text, "[daemon]\ncores = 0");
    for (int i = 1; strlen(text) < 400; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), ",%d", i * 2);
    strcat(text, "\n");
    expect_file_error(text, ":2: line longer than");
}

static void test_file_order_independent(void **state)
{
    nodus_config_t c;
    char err[256];
    config_defaults(&c);
    /* default above the old max is fine when the file also raises the max, in either order */
    assert_int_equal(
        load_text(&c, "[sched]\ndefault_weight = 20\nmax_weight = 32\n", err, sizeof err), 0);
    assert_int_equal(c.default_weight, 20);
    assert_int_equal(c.max_weight, 32);
    config_defaults(&c);
    expect_file_error("[sched]\ndefault_weight = 20\n",
                      ": sched.default_weight (20) is larger than sched.max_weight (16)");
}

static void test_set_each_key(void **state)
{
    nodus_config_t c;
    config_defaults(&c);
    assert_int_equal(config_set(&c, "daemon", "socket", "/tmp/x.sock"), 0);
    assert_string_equal(c.socket_path, "/tmp/x.sock");
    assert_int_equal(config_set(&c, "daemon", "socket", ""), 0);
    assert_string_equal(c.socket_path, "");
    assert_int_equal(config_set(&c, "daemon", "cores", "4"), 0);
    assert_string_equal(c.cores, "4");
    assert_int_equal(config_set(&c, "daemon", "cores", "0-1,3"), 0);
    assert_string_equal(c.cores, "0-1,3");
    assert_int_equal(config_set(&c, "daemon", "log_level", "warning"), 0);
    assert_int_equal(c.log_level, LOG_WARNING);
    assert_int_equal(config_set(&c, "daemon", "log_level", "3"), 0);
    assert_int_equal(c.log_level, LOG_ERR);
    assert_int_equal(config_set(&c, "daemon", "idle_exit", "600"), 0);
    assert_int_equal(c.idle_exit_s, 600);
    assert_int_equal(config_set(&c, "sched", "max_weight", "10000"), 0);
    assert_int_equal(c.max_weight, NODUS_MAX_WEIGHT);
    assert_int_equal(config_set(&c, "sched", "default_weight", "10000"), 0);
    assert_int_equal(c.default_weight, NODUS_MAX_WEIGHT);
    assert_int_equal(config_set(&c, "sched", "reserve_after_ms", "3600000"), 0);
    assert_int_equal(c.reserve_after_ms, 3600000);
    assert_int_equal(config_set(&c, "sched", "lookahead", "0"), 0); /* 0 = off */
    assert_int_equal(c.lookahead, 0);
    assert_int_equal(config_set(&c, "sched", "lookahead", "64"), 0);
    assert_int_equal(c.lookahead, 64);
    assert_int_equal(config_set(&c, "sched", "lookahead_max_us", "1000000"), 0);
    assert_int_equal(c.lookahead_max_us, 1000000);
    assert_int_equal(config_set(&c, "sched", "lookahead_max_us", "0"), 0);
    assert_int_equal(c.lookahead_max_us, 0);
    assert_int_equal(config_set(&c, "limits", "max_sessions_per_user", "1"), 0);
    assert_int_equal(c.max_sessions_per_user, 1);
    assert_int_equal(config_set(&c, "limits", "max_outstanding_tasks", "1000000000"), 0);
    assert_int_equal(c.max_outstanding_tasks, 1000000000ull);
    /* limits: 0 is "no limit" */
    assert_int_equal(config_set(&c, "limits", "max_sessions_per_user", "0"), 0);
    assert_int_equal(c.max_sessions_per_user, 0);
    assert_int_equal(config_set(&c, "limits", "max_outstanding_tasks", "0"), 0);
    assert_int_equal(c.max_outstanding_tasks, 0);
    assert_int_equal(config_set(&c, "limits", "max_sessions_per_user", "1"), 0);
    assert_int_equal(config_set(&c, "limits", "max_outstanding_tasks", "1000000000"), 0);
    assert_int_equal(config_set(&c, "daemon", "drain_timeout_s", "0"), 0); /* stop at once */
    assert_int_equal(c.drain_timeout_s, 0);
    assert_int_equal(config_set(&c, "daemon", "drain_timeout_s", "86400"), 0);
    assert_int_equal(c.drain_timeout_s, 86400);
    assert_int_equal(config_set(&c, "daemon", "admin_group", ""), 0); /* root only */
    assert_string_equal(c.admin_group, "");
    assert_int_equal(config_set(&c, "daemon", "admin_group", "wheel"), 0);
    assert_string_equal(c.admin_group, "wheel");
    assert_int_equal(config_set(&c, "trace", "enabled", "on"), 0);
    assert_int_equal(c.trace_enabled, 1);
    assert_int_equal(config_set(&c, "trace", "capacity", "1024"), 0);
    assert_int_equal(c.trace_capacity, NODUS_MIN_TRACE_EVENTS);
    assert_int_equal(config_set(&c, "trace", "capacity", "16777216"), 0);
    assert_int_equal(c.trace_capacity, NODUS_MAX_TRACE_EVENTS);

    /* rejected values leave the config as it was */
    nodus_config_t d = c;
    assert_int_equal(config_set(&c, "daemon", "nope", "1"), NODUS_EINVAL);
    assert_int_equal(config_set(&c, "daemon", "cores", "a"), NODUS_EINVAL);
    assert_int_equal(config_set(&c, "daemon", "idle_exit", "31536001"), NODUS_EINVAL);
    assert_int_equal(config_set(&c, "sched", "max_weight", "10001"), NODUS_EINVAL);
    assert_int_equal(config_set(&c, "sched", "max_weight", "9999"), NODUS_EINVAL); /* < default */
    assert_int_equal(config_set(&c, "sched", "reserve_after_ms", "3600001"), NODUS_EINVAL);
    assert_int_equal(config_set(&c, "sched", "lookahead", "65"), NODUS_EINVAL);
    assert_int_equal(config_set(&c, "sched", "lookahead", "-1"), NODUS_EINVAL);
    assert_int_equal(config_set(&c, "sched", "lookahead_max_us", "1000001"), NODUS_EINVAL);
    assert_int_equal(config_set(&c, "limits", "max_outstanding_tasks", "1000000001"), NODUS_EINVAL);
    assert_int_equal(config_set(&c, NULL, "cores", "1"), NODUS_EINVAL);
    assert_int_equal(config_set(&c, "daemon", "drain_timeout_s", "86401"), NODUS_EINVAL);
    assert_int_equal(config_set(&c, "daemon", "admin_group", "two words"), NODUS_EINVAL);
    assert_int_equal(config_set(&c, "daemon", "admin_group", "a,b"), NODUS_EINVAL);
    assert_int_equal(config_set(&c, "daemon", "admin_group", "a:b"), NODUS_EINVAL);
    assert_int_equal(config_set(&c, "daemon", "admin_group",
                                "0123456789012345678901234567890123456789"
                                "012345678901234567890123"),
                     NODUS_EINVAL);
    assert_int_equal(config_set(&c, "trace", "enabled", "maybe"), NODUS_EINVAL);
    assert_int_equal(config_set(&c, "trace", "capacity", "1023"), NODUS_EINVAL);
    assert_int_equal(config_set(&c, "trace", "capacity", "16777217"), NODUS_EINVAL);
    assert_memory_equal(&c, &d, sizeof c);
}

static void test_overrides(void **state)
{
    nodus_config_t c;
    char err[256] = "";
    config_defaults(&c);
    assert_int_equal(
        config_apply_overrides(&c, "daemon.cores=0-1,sched.max_weight=8", err, sizeof err), 0);
    assert_string_equal(c.cores, "0-1");
    assert_int_equal(c.max_weight, 8);

    /* commas inside a CPU list stay in the value */
    assert_int_equal(config_apply_overrides(&c, "daemon.cores=0-1,3", err, sizeof err), 0);
    assert_string_equal(c.cores, "0-1,3");
    assert_int_equal(config_apply_overrides(&c,
                                            "sched.default_weight=2, daemon.cores = 0,2,4-5 ,"
                                            "daemon.log_level=debug",
                                            err, sizeof err),
                     0);
    assert_string_equal(c.cores, "0,2,4-5");
    assert_int_equal(c.default_weight, 2);
    assert_int_equal(c.log_level, LOG_DEBUG);

    /* lookahead off, as apps/bench/run_overhead.sh measures it */
    assert_int_equal(config_apply_overrides(&c, "sched.lookahead=0", err, sizeof err), 0);
    assert_int_equal(c.lookahead, 0);
    assert_int_equal(c.lookahead_max_us, 200);

    /* nothing to apply */
    nodus_config_t d = c;
    assert_int_equal(config_apply_overrides(&c, "", err, sizeof err), 0);
    assert_int_equal(config_apply_overrides(&c, NULL, err, sizeof err), 0);
    assert_memory_equal(&c, &d, sizeof c);
}

static void expect_override_error(const char *list, const char *expect)
{
    nodus_config_t c, d;
    char err[256] = "";
    config_defaults(&c);
    d = c;
    assert_int_equal(config_apply_overrides(&c, list, err, sizeof err), NODUS_EINVAL);
    /* "key: reason"; the caller adds where the list came from */
    if (strncmp(err, expect, strlen(expect)) != 0)
        fail_msg("error \"%s\" does not start with \"%s\"", err, expect);
    assert_memory_equal(&c, &d, sizeof c); /* all or nothing */
}

static void test_overrides_bad(void **state)
{
    expect_override_error("sched.max_weight=8,daemon.cores=3-1", "daemon.cores: not a CPU list");
    expect_override_error("daemon.cores=1,daemon.nope=2", "daemon.nope: unknown key");
    expect_override_error("cores=1", "\"cores=1\": expected section.key=value");
    expect_override_error(" daemon.cores ", "\"daemon.cores\": expected section.key=value");
    expect_override_error("sched.max_weight=8,", "sched.max_weight: trailing characters");
    expect_override_error("sched.default_weight=32",
                          "sched.default_weight (32) is larger than sched.max_weight (16)");
    expect_override_error("devices.cuda=maybe", "devices.cuda: not yes or no");
    expect_override_error("devices.allow=0,,1", "devices.allow: empty item in the list");
    expect_override_error("devices.slots=0", "devices.slots: out of range (1-64)");
    expect_override_error("devices.slots=65", "devices.slots: out of range (1-64)");
    expect_override_error("devices.max_in_flight=0", "devices.max_in_flight: out of range");
    expect_override_error("devices.max_in_flight_per_session=65537",
                          "devices.max_in_flight_per_session: out of range (1-65536)");
    expect_override_error("devices.opencl_cpu_cores=4097",
                          "devices.opencl_cpu_cores: out of range (0-4096)");
}

static void test_devices_keys(void **state)
{
    nodus_config_t c;
    char err[256] = "";
    config_defaults(&c);
    /* booleans in their spellings */
    const char *yes[] = {"yes", "YES", "true", "on", "1"}, *no[] = {"no", "False", "off", "0"};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(config_set(&c, "devices", "cuda", yes[i]), 0);
        assert_int_equal(c.devices_cuda, 1);
    }
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(config_set(&c, "devices", "opencl", no[i]), 0);
        assert_int_equal(c.devices_opencl, 0);
    }
    assert_int_equal(config_set(&c, "devices", "opencl", ""), NODUS_EINVAL);
    /* an allow list keeps its commas in an override (the next entry starts a new key) */
    assert_int_equal(
        config_apply_overrides(&c, "devices.allow=0,2,pthread,devices.slots=8", err, sizeof err),
        0);
    assert_string_equal(c.devices_allow, "0,2,pthread");
    assert_int_equal(c.devices_slots, 8);
    assert_int_equal(config_set(&c, "devices", "allow", ""), 0);
    assert_string_equal(c.devices_allow, "");
    assert_int_equal(config_set(&c, "devices", "allow", " , x"), NODUS_EINVAL);
    assert_int_equal(config_set(&c, "devices", "allow", "a\tb"), NODUS_EINVAL);
}

static void test_print_round_trip(void **state)
{
    nodus_config_t c, back;
    char err[256];
    char *text = NULL;
    size_t textlen = 0;

    /* defaults, then a config with every key changed */
    for (int round = 0; round < 2; round++) {
        config_defaults(&c);
        if (round == 1) {
            assert_int_equal(config_apply_overrides(&c,
                                                    "daemon.socket=/run/x/nodusd.sock,"
                                                    "daemon.cores=0-2,7,daemon.log_level=notice,"
                                                    "daemon.idle_exit=5,sched.default_weight=3,"
                                                    "sched.max_weight=9,"
                                                    "sched.reserve_after_ms=7,"
                                                    "sched.lookahead=3,"
                                                    "sched.lookahead_max_us=99,"
                                                    "limits.max_sessions_per_user=2,"
                                                    "limits.max_outstanding_tasks=77,"
                                                    "devices.cuda=no,devices.opencl=no,"
                                                    "devices.allow=1,Tesla V100,"
                                                    "devices.slots=3,"
                                                    "devices.max_in_flight=5,"
                                                    "devices.max_in_flight_per_session=4,"
                                                    "devices.opencl_cpu_cores=2,"
                                                    "daemon.drain_timeout_s=9,"
                                                    "daemon.admin_group=ops,"
                                                    "trace.enabled=yes,trace.capacity=2048",
                                                    err, sizeof err),
                             0);
        }
        FILE *out = open_memstream(&text, &textlen);
        assert_non_null(out);
        config_print(&c, out);
        fclose(out);
        /* every key is printed */
        const char *keys[] = {"[daemon]",
                              "socket =",
                              "cores =",
                              "log_level =",
                              "idle_exit =",
                              "drain_timeout_s =",
                              "admin_group =",
                              "[sched]",
                              "default_weight =",
                              "max_weight =",
                              "reserve_after_ms =",
                              "lookahead =",
                              "lookahead_max_us =",
                              "[limits]",
                              "max_sessions_per_user =",
                              "max_outstanding_tasks =",
                              "max_message_bytes =",
                              "[devices]",
                              "cuda =",
                              "opencl =",
                              "allow =",
                              "slots =",
                              "max_in_flight =",
                              "max_in_flight_per_session =",
                              "opencl_cpu_cores =",
                              "[trace]",
                              "enabled =",
                              "capacity ="};
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
            if (!strstr(text, keys[i])) fail_msg("printed config lacks \"%s\":\n%s", keys[i], text);

        /* loading it over a different config gives the same struct back */
        config_defaults(&back);
        assert_int_equal(config_set(&back, "sched", "max_weight", "100"), 0);
        assert_int_equal(config_set(&back, "daemon", "cores", "1"), 0);
        assert_int_equal(config_set(&back, "daemon", "socket", "/elsewhere"), 0);
        assert_int_equal(load_text(&back, text, err, sizeof err), 0);
        assert_memory_equal(&c, &back, sizeof c);
        free(text);
        text = NULL;
    }
}

/* Reload: live keys are taken over, restart keys are kept and named. */
static void test_apply_live(void **state)
{
    nodus_config_t cur, next;
    char applied[512], restart[512];
    config_defaults(&cur);
    assert_int_equal(config_set(&cur, "daemon", "socket", "/run/a.sock"), 0);
    next = cur;
    assert_int_equal(
        config_apply_live(&cur, &next, applied, sizeof applied, restart, sizeof restart), 0);
    assert_string_equal(applied, "");
    assert_string_equal(restart, "");

    char err[256] = "";
    assert_int_equal(config_apply_overrides(&next,
                                            "daemon.log_level=debug,sched.max_weight=4,"
                                            "sched.lookahead=0,daemon.drain_timeout_s=3,"
                                            "trace.enabled=yes,limits.max_sessions_per_user=2,"
                                            "daemon.cores=0-1,devices.slots=2,"
                                            "daemon.socket=/run/b.sock",
                                            err, sizeof err),
                     0);
    nodus_config_t before = cur;
    int n = config_apply_live(&cur, &next, applied, sizeof applied, restart, sizeof restart);
    assert_int_equal(n, 3);
    assert_string_equal(restart, "daemon.socket, daemon.cores, devices.slots");
    assert_string_equal(applied, "daemon.log_level, daemon.drain_timeout_s, sched.max_weight, "
                                 "sched.lookahead, limits.max_sessions_per_user, trace.enabled");
    assert_int_equal(cur.log_level, LOG_DEBUG);
    assert_int_equal(cur.max_weight, 4);
    assert_int_equal(cur.lookahead, 0);
    assert_int_equal(cur.drain_timeout_s, 3);
    assert_int_equal(cur.trace_enabled, 1);
    assert_int_equal(cur.max_sessions_per_user, 2);
    assert_string_equal(cur.socket_path, before.socket_path);
    assert_string_equal(cur.cores, before.cores);
    assert_int_equal(cur.devices_slots, before.devices_slots);

    /* short buffers are cut, not overrun */
    char tiny[8];
    cur = before;
    config_apply_live(&cur, &next, tiny, sizeof tiny, restart, sizeof restart);
    assert_true(strlen(tiny) < sizeof tiny);
}

/* ---- log.c ---- */

static void test_log_level_parse(void **state)
{
    assert_int_equal(log_level_parse("emerg"), LOG_EMERG);
    assert_int_equal(log_level_parse("alert"), LOG_ALERT);
    assert_int_equal(log_level_parse("crit"), LOG_CRIT);
    assert_int_equal(log_level_parse("err"), LOG_ERR);
    assert_int_equal(log_level_parse("error"), LOG_ERR);
    assert_int_equal(log_level_parse("warning"), LOG_WARNING);
    assert_int_equal(log_level_parse("warn"), LOG_WARNING);
    assert_int_equal(log_level_parse("notice"), LOG_NOTICE);
    assert_int_equal(log_level_parse("info"), LOG_INFO);
    assert_int_equal(log_level_parse("DEBUG"), LOG_DEBUG);
    for (int i = 0; i <= 7; i++) {
        char s[2] = {(char)('0' + i), '\0'};
        assert_int_equal(log_level_parse(s), i);
    }
    assert_int_equal(log_level_parse("8"), -1);
    assert_int_equal(log_level_parse("-1"), -1);
    assert_int_equal(log_level_parse("07"), -1);
    assert_int_equal(log_level_parse(""), -1);
    assert_int_equal(log_level_parse("infos"), -1);
    assert_int_equal(log_level_parse(NULL), -1);
}

/* Runs log_msg calls with stderr sent to a temp file; returns what was written (caller frees). */
static char *capture_stderr(void (*fn)(void))
{
    char path[] = "/tmp/nodus-test-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
    fn();
    assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
    close(saved);
    off_t n = lseek(fd, 0, SEEK_END);
    char *buf = calloc(1, (size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(pread(fd, buf, (size_t)n, 0), n);
    close(fd);
    return buf;
}

static void log_some_lines(void)
{
    log_set_level(LOG_INFO);
    log_msg(LOG_ERR, "server", 0, "cannot bind %s", "/x.sock");
    log_msg(LOG_INFO, "session", 42, "hello from pid %d", 7);
    LOG(LOG_DEBUG, "sched", 1, "dropped at info level %d", 1);
    LOG(LOG_NOTICE, "sched", 1, "two\nlines");
    log_set_level(LOG_DEBUG);
    LOG(LOG_DEBUG, "sched", 1, "kept at debug level");
    log_set_level(LOG_INFO);
}

static void log_long_line(void)
{
    char big[5000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    log_msg(LOG_WARNING, "t", 3, "%s", big);
    log_msg(LOG_INFO, "t", 0, "after");
}

static void test_log_format(void **state)
{
    char *out = capture_stderr(log_some_lines);
    assert_string_equal(out, "<3>nodusd[server]: cannot bind /x.sock\n"
                             "<6>nodusd[session] s42: hello from pid 7\n"
                             "<5>nodusd[sched] s1: two lines\n"
                             "<7>nodusd[sched] s1: kept at debug level\n");
    free(out);
    assert_int_equal(log_get_level(), LOG_INFO);

    out = capture_stderr(log_long_line);
    char *nl = strchr(out, '\n');
    assert_non_null(nl);
    size_t first = (size_t)(nl - out) + 1;
    assert_true(first <= 1024);
    assert_memory_equal(out, "<4>nodusd[t] s3: xxx", 20);
    assert_memory_equal(nl - 3, "...", 3);
    assert_string_equal(nl + 1, "<6>nodusd[t]: after\n");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_file_all_keys),
        cmocka_unit_test(test_file_partial_keeps_others),
        cmocka_unit_test(test_file_missing),
        cmocka_unit_test(test_file_bad_values),
        cmocka_unit_test(test_file_socket_length),
        cmocka_unit_test(test_file_unknown_key),
        cmocka_unit_test(test_file_syntax),
        cmocka_unit_test(test_file_order_independent),
        cmocka_unit_test(test_set_each_key),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_overrides_bad),
        cmocka_unit_test(test_devices_keys),
        cmocka_unit_test(test_print_round_trip),
        cmocka_unit_test(test_apply_live),
        cmocka_unit_test(test_log_level_parse),
        cmocka_unit_test(test_log_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
