# NODUS_WITH_CUDA (AUTO, ON, OFF) and NODUS_WITH_OPENCL (AUTO, ON, OFF): what the build finds of
# the device toolchains. libnodus and nodusd load the CUDA and OpenCL runtimes at run time, so
# nothing here is needed to build or run them; the toolchains build the device tests, the
# benchmarks' device variants, and the build-time ABI check of libnodus's CUDA declarations.
#
# Sets NODUS_HAVE_CUDA (the CUDA language is enabled, CUDA::cudart, CUDA::cublas and
# CUDA::cusparse exist) and NODUS_HAVE_OPENCL (OpenCL::OpenCL and OpenCL_INCLUDE_DIRS), each 0
# or 1, and defines nodus_cuda_target(TARGET) for targets with .cu sources.
include(CheckLanguage)

set(NODUS_HAVE_CUDA 0)
if(NOT NODUS_WITH_CUDA STREQUAL "OFF")
  # nvcc is usually not on PATH: take the toolkit's default location unless told otherwise
  if(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX} AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc CACHE FILEPATH "CUDA compiler")
  endif()
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    # Hopper (sm_90) code plus PTX that later GPUs JIT-compile: one architecture keeps the
    # build short (CI has two cores)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES "90-real;90-virtual")
    endif()
    enable_language(CUDA)
    find_package(CUDAToolkit)
    if(CUDAToolkit_FOUND AND TARGET CUDA::cudart AND TARGET CUDA::cublas
       AND TARGET CUDA::cusparse)
      set(NODUS_HAVE_CUDA 1)
    endif()
  endif()
  if(NOT NODUS_HAVE_CUDA AND NODUS_WITH_CUDA STREQUAL "ON")
    message(FATAL_ERROR "NODUS_WITH_CUDA=ON but no CUDA compiler and toolkit "
                        "(cudart, cuBLAS, cuSPARSE) were found")
  endif()
endif()
message(STATUS "nodus: CUDA tests and benchmarks: ${NODUS_HAVE_CUDA}")

set(NODUS_HAVE_OPENCL 0)
if(NOT NODUS_WITH_OPENCL STREQUAL "OFF")
  find_package(OpenCL)
  if(OpenCL_FOUND)
    set(NODUS_HAVE_OPENCL 1)
  elseif(NODUS_WITH_OPENCL STREQUAL "ON")
    message(FATAL_ERROR "NODUS_WITH_OPENCL=ON but the OpenCL headers and ICD loader were not "
                        "found (Debian: ocl-icd-opencl-dev opencl-headers)")
  endif()
endif()
message(STATUS "nodus: OpenCL backend, tests and benchmarks: ${NODUS_HAVE_OPENCL}")

# nodus_cuda_target(TARGET): the project's C warning and sanitizer flags stay with C sources
# (nvcc rejects them), .cu sources get nvcc's own warnings, and the target uses the shared
# CUDA runtime, the one libnodus finds in the process (client-lib/src/cuda_dev.c).
function(nodus_cuda_target target)
  get_target_property(opts ${target} COMPILE_OPTIONS)
  set(c_only "")
  if(opts)
    foreach(o IN LISTS opts)
      list(APPEND c_only "$<$<COMPILE_LANGUAGE:C>:${o}>")
    endforeach()
  endif()
  list(APPEND c_only "$<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall>")
  if(NODUS_WERROR)
    list(APPEND c_only "$<$<COMPILE_LANGUAGE:CUDA>:-Werror=all-warnings>")
  endif()
  set_target_properties(${target} PROPERTIES COMPILE_OPTIONS "${c_only}"
                                             CUDA_RUNTIME_LIBRARY Shared)
  target_link_libraries(${target} PRIVATE CUDA::cudart)
endfunction()
