/*
 * Unit tests for daemon/devices.c: the `allow` filter, the cores of a CPU OpenCL device, and
 * discovery itself (switched off, backends disabled, and whatever this machine has: with PoCL
 * installed, a CPU OpenCL device on the daemon's last core).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "validate.h"
#include "config.h"
#include "devices.h"
#include "log.h"
#include "nodus.h"
#include "nodus_limits.h"

static void test_allowed(void **state)
{
    (void)state;
    assert_true(devices_allowed("", 5, "anything"));
    assert_true(devices_allowed(NULL, 5, "anything"));
    assert_true(devices_allowed("0", 0, "Tesla"));
    assert_false(devices_allowed("0", 1, "Tesla"));
    assert_true(devices_allowed("1, 3", 3, "x"));
    assert_false(devices_allowed("1, 3", 2, "x"));
    /* names: case-insensitive substrings */
    assert_true(devices_allowed("pthread", 7, "pthread-skylake-avx512"));
    assert_true(devices_allowed("H100", 0, "NVIDIA h100 80GB HBM3"));
    assert_true(devices_allowed(" a100 ,2", 2, "GeForce"));
    assert_true(devices_allowed(" a100 ,2", 0, "NVIDIA A100-SXM4"));
    assert_false(devices_allowed("a100,2", 0, "NVIDIA H100"));
    /* an index is never a name substring: "1" does not admit "GPU 1" at index 0 */
    assert_false(devices_allowed("1", 0, "GPU 1"));
    assert_false(devices_allowed("99999999999", 0, "x"));
    assert_false(devices_allowed("gpu", 0, NULL));
}

static void test_cpu_device_cores(void **state)
{
    (void)state;
    assert_int_equal(devices_cpu_device_cores(0, 0), 0);
    assert_int_equal(devices_cpu_device_cores(0, 1), 0); /* single core: not offered */
    assert_int_equal(devices_cpu_device_cores(4, 1), 0);
    assert_int_equal(devices_cpu_device_cores(0, 2), 1);
    assert_int_equal(devices_cpu_device_cores(0, 3), 1);
    assert_int_equal(devices_cpu_device_cores(0, 8), 4);
    assert_int_equal(devices_cpu_device_cores(3, 8), 3);
    assert_int_equal(devices_cpu_device_cores(8, 8), 7); /* one core stays for bodies */
    assert_int_equal(devices_cpu_device_cores(100, 8), 7);
    assert_int_equal(devices_cpu_device_cores(1, 2), 1);
}

static void test_kind_names(void **state)
{
    (void)state;
    assert_string_equal(device_kind_name(NODUS__V1__DEVICE_KIND__DEVICE_KIND_CUDA), "cuda");
    assert_string_equal(device_kind_name(NODUS__V1__DEVICE_KIND__DEVICE_KIND_OPENCL), "opencl");
    assert_string_equal(device_kind_name(NODUS__V1__DEVICE_KIND__DEVICE_KIND_CPU), "cpu");
    assert_string_equal(device_kind_name(99), "unknown");
}

static void test_discover_off(void **state)
{
    (void)state;
    nodus_config_t cfg;
    config_defaults(&cfg);
    uint32_t cpus[4] = {0, 1, 2, 3};
    devices_t dv;
    setenv("NODUS_NO_DEVICES", "1", 1);
    assert_int_equal(devices_discover(&dv, &cfg, cpus, 4), 0);
    unsetenv("NODUS_NO_DEVICES");
    assert_int_equal(dv.n, 0);
    assert_non_null(strstr(dv.cuda_note, "NODUS_NO_DEVICES"));
    devices_free(&dv);

    cfg.devices_cuda = 0;
    cfg.devices_opencl = 0;
    assert_int_equal(devices_discover(&dv, &cfg, cpus, 4), 0);
    assert_int_equal(dv.n, 0);
    assert_non_null(strstr(dv.cuda_note, "disabled"));
    assert_non_null(strstr(dv.opencl_note, "disabled"));
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    devices_print(&dv, out);
    fclose(out);
    assert_non_null(strstr(text, "no devices"));
    free(text);
    assert_int_equal(devices_cuda_context(&dv, 0, &(cu_context_t){0}), NODUS_EINVAL);
    devices_free(&dv);
    devices_free(&dv); /* idempotent */
}

/* Whatever this machine has, the result is consistent; a CPU device holds the last cores. */
static void test_discover_here(void **state)
{
    (void)state;
    nodus_config_t cfg;
    config_defaults(&cfg);
    uint32_t cpus[4] = {10, 11, 12, 13};
    devices_t dv;
    unsetenv("NODUS_NO_DEVICES");
    log_set_level(LOG_WARNING);
    assert_int_equal(devices_discover(&dv, &cfg, cpus, 4), 0);
    assert_true(dv.n <= NODUS_MAX_DEVICES);
    assert_int_equal(dv.slots, 4);
    int cpu_devices = 0;
    for (size_t i = 0; i < dv.n; i++) {
        const device_t *d = &dv.list[i];
        const Nodus__V1__DeviceInfo *in = dv.info_ptrs[i];
        assert_int_equal(in->index, i);
        assert_int_equal(in->kind, d->kind);
        assert_string_equal(in->name, d->name);
        assert_int_equal(in->slots, 4);
        if (i > 0 && d->kind == NODUS__V1__DEVICE_KIND__DEVICE_KIND_CUDA)
            assert_int_equal(dv.list[i - 1].kind, NODUS__V1__DEVICE_KIND__DEVICE_KIND_CUDA);
        if (d->cpu_device) {
            cpu_devices++;
            assert_int_equal(d->ncores, 2); /* half of 4 */
            assert_int_equal(d->core_index[0], 2);
            assert_int_equal(d->core_index[1], 3);
            assert_int_equal(in->n_cores, 2);
            assert_int_equal(in->cores[0], 12);
            assert_int_equal(in->cores[1], 13);
        } else {
            assert_int_equal(d->ncores, 0);
        }
    }
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    devices_print(&dv, out);
    fclose(out);
    assert_non_null(strstr(text, dv.n ? "INDEX" : "no devices"));
    free(text);
    devices_free(&dv);
    print_message("devices here: %d CPU device(s)\n", cpu_devices);

    /* the same with an allow list that matches nothing: all excluded, each with a reason */
    snprintf(cfg.devices_allow, sizeof cfg.devices_allow, "no-such-device");
    assert_int_equal(devices_discover(&dv, &cfg, cpus, 4), 0);
    assert_int_equal(dv.n, 0);
    assert_null(dv.cuda.lib); /* a driver without kept devices is unloaded */
    devices_free(&dv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allowed),       cmocka_unit_test(test_cpu_device_cores),
        cmocka_unit_test(test_kind_names),    cmocka_unit_test(test_discover_off),
        cmocka_unit_test(test_discover_here),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
