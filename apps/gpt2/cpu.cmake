# The GPT-2 ops on the CPU (gpt2_cpu): plain C kernels and OpenBLAS SGEMM for the matmuls, the
# reference that the OpenCL and CUDA implementations are compared with. OpenBLAS comes from
# pkg-config (Debian's libopenblas-dev: its cblas.h also declares openblas_set_num_threads).
pkg_check_modules(GPT2_OPENBLAS REQUIRED IMPORTED_TARGET openblas)

add_library(gpt2_cpu STATIC gpt2_cpu.c gpt2_cpu_attention.c)
target_include_directories(gpt2_cpu PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(gpt2_cpu PUBLIC PkgConfig::GPT2_OPENBLAS Threads::Threads m)

# Tests: finite-difference gradients of every backward op and known values (test_gpt2_cpu),
# slicing invariance of every op (test_gpt2_cpu_slices); a second each, also under the sanitizers.
if(BUILD_TESTING)
  pkg_check_modules(GPT2_CPU_CMOCKA REQUIRED IMPORTED_TARGET cmocka)
  foreach(name gpt2_cpu gpt2_cpu_slices)
    add_executable(test_${name} ${PROJECT_SOURCE_DIR}/tests/gpt2/test_${name}.c)
    target_link_libraries(test_${name} PRIVATE gpt2_cpu PkgConfig::GPT2_CPU_CMOCKA m)
    add_test(NAME gpt2.${name} COMMAND test_${name})
    set_tests_properties(gpt2.${name} PROPERTIES LABELS "gpt2;unit" TIMEOUT 120)
  endforeach()
endif()
