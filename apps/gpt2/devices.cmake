# The GPT-2 ops on devices (gpt2_ops.h): gpt2_ocl (OpenCL, when NODUS_HAVE_OPENCL) and gpt2_cuda
# (CUDA + cuBLAS, when NODUS_HAVE_CUDA), each a static library the training program links, and
# their tests, which run every op as a device task through a private nodusd and compare it with
# gpt2_cpu_run (tests/gpt2/).

if(NODUS_HAVE_OPENCL)
  # The kernels are OpenCL C source built at run time for whatever device the daemon hands out:
  # embed gpt2_kernels.cl as a NUL-terminated byte array (hex, so no escaping can go wrong). The
  # .cl file is a configure dependency, so editing it regenerates the array.
  set(gpt2_cl_src ${CMAKE_CURRENT_SOURCE_DIR}/gpt2_kernels.cl)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${gpt2_cl_src})
  file(READ ${gpt2_cl_src} gpt2_cl_hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," gpt2_cl_hex "${gpt2_cl_hex}")
  string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n"
         gpt2_cl_hex "${gpt2_cl_hex}")
  file(CONFIGURE OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/gpt2_kernels_cl.c
       CONTENT "/* generated from apps/gpt2/gpt2_kernels.cl by devices.cmake */\n\
extern const char gpt2_ocl_kernel_source[];\n\
const char gpt2_ocl_kernel_source[] = {\n${gpt2_cl_hex}0x00};\n" @ONLY)

  add_library(gpt2_ocl STATIC gpt2_ocl.c gpt2_ocl_ops.c ${CMAKE_CURRENT_BINARY_DIR}/gpt2_kernels_cl.c)
  target_include_directories(gpt2_ocl PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(gpt2_ocl PUBLIC nodus OpenCL::OpenCL Threads::Threads m)
endif()

if(NODUS_HAVE_CUDA)
  add_library(gpt2_cuda STATIC gpt2_cuda.cu)
  target_include_directories(gpt2_cuda PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(gpt2_cuda PUBLIC nodus CUDA::cublas Threads::Threads)
  nodus_cuda_target(gpt2_cuda)
endif()

# Tests: tests/gpt2/test_gpt2_devices.sh starts a private nodusd (tests/integration/harness.sh)
# and runs the test program, which needs the CPU reference (gpt2_cpu) to compare with.
if(BUILD_TESTING AND TARGET gpt2_cpu AND TARGET nodusctl)
  set(gpt2_test_dir ${PROJECT_SOURCE_DIR}/tests/gpt2)
  function(gpt2_device_test name)
    add_test(NAME gpt2.${name}
             COMMAND bash ${gpt2_test_dir}/test_gpt2_devices.sh $<TARGET_FILE:test_${name}>)
    set_tests_properties(gpt2.${name} PROPERTIES
      LABELS "gpt2;integration" TIMEOUT 300 SKIP_RETURN_CODE 77
      ENVIRONMENT "NODUSD=$<TARGET_FILE:nodusd>;NODUSCTL=$<TARGET_FILE:nodusctl>")
  endfunction()
  if(NODUS_HAVE_OPENCL)
    add_executable(test_gpt2_ocl ${gpt2_test_dir}/test_gpt2_ocl.c
                                 ${gpt2_test_dir}/gpt2_test_ops.c)
    target_include_directories(test_gpt2_ocl PRIVATE ${gpt2_test_dir})
    target_link_libraries(test_gpt2_ocl PRIVATE gpt2_ocl gpt2_cpu m)
    gpt2_device_test(gpt2_ocl)
  endif()
  if(NODUS_HAVE_CUDA)
    add_executable(test_gpt2_cuda ${gpt2_test_dir}/test_gpt2_cuda.c
                                  ${gpt2_test_dir}/gpt2_test_ops.c)
    target_include_directories(test_gpt2_cuda PRIVATE ${gpt2_test_dir})
    target_link_libraries(test_gpt2_cuda PRIVATE gpt2_cuda gpt2_cpu m)
    nodus_cuda_target(test_gpt2_cuda)
    gpt2_device_test(gpt2_cuda)
  endif()
endif()
