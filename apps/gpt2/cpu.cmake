# The GPT-2 ops on the CPU (gpt2_cpu): plain C kernels and OpenBLAS SGEMM for the matmuls, the
# reference that the OpenCL and CUDA implementations are compared with. OpenBLAS comes from
# pkg-config (Debian's libopenblas-dev: its cblas.h also declares openblas_set_num_threads).
pkg_check_modules(GPT2_OPENBLAS REQUIRED IMPORTED_TARGET openblas)

add_library(gpt2_cpu STATIC gpt2_cpu.c gpt2_cpu_attention.c)
target_include_directories(gpt2_cpu PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(gpt2_cpu PUBLIC PkgConfig::GPT2_OPENBLAS Threads::Threads m)

# Tests: finite-difference gradients of every backward op, slicing invariance of every op, and
# known values (tests/gpt2/test_gpt2_cpu.c); a few seconds, also under the sanitizers.
if(BUILD_TESTING)
  pkg_check_modules(GPT2_CPU_CMOCKA REQUIRED IMPORTED_TARGET cmocka)
  add_executable(test_gpt2_cpu ${PROJECT_SOURCE_DIR}/tests/gpt2/test_gpt2_cpu.c)
  target_link_libraries(test_gpt2_cpu PRIVATE gpt2_cpu PkgConfig::GPT2_CPU_CMOCKA m)
  add_test(NAME gpt2.gpt2_cpu COMMAND test_gpt2_cpu)
  set_tests_properties(gpt2.gpt2_cpu PROPERTIES LABELS "gpt2;unit" TIMEOUT 120)
endif()
