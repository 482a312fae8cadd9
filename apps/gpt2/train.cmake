# The training program nodus-gpt2 (task graph, fork-join baseline, train loop, main) and its
# end-to-end tests (tests/gpt2/test_gpt2_train.sh). It needs the file and kernel parts (gpt2_io,
# gpt2_cpu) and links the device kernels that this build has (gpt2_ocl, gpt2_cuda).
if(TARGET gpt2_io AND TARGET gpt2_cpu)
  find_package(OpenMP REQUIRED COMPONENTS C)
  add_executable(nodus-gpt2 main.c gpt2_train.c gpt2_state.c gpt2_plan.c gpt2_graph.c
                            gpt2_forkjoin.c)
  target_link_libraries(nodus-gpt2 PRIVATE gpt2_io gpt2_cpu nodus OpenMP::OpenMP_C m)
  if(TARGET gpt2_ocl)
    target_link_libraries(nodus-gpt2 PRIVATE gpt2_ocl)
    target_compile_definitions(nodus-gpt2 PRIVATE GPT2_TRAIN_OPENCL)
  endif()
  if(TARGET gpt2_cuda)
    # gpt2_graph.c zeroes gradients with cudaMemsetAsync in CUDA tasks: the shared runtime,
    # the one libnodus finds in the process
    target_link_libraries(nodus-gpt2 PRIVATE gpt2_cuda CUDA::cudart)
    target_compile_definitions(nodus-gpt2 PRIVATE GPT2_TRAIN_CUDA)
  endif()
  nodus_install_app(nodus-gpt2 "nodus-gpt2: GPT-2 pre-training (llm.c's model) as nodus tasks")

  # One ctest entry per case, each against a private nodusd; a tiny model (L=2, C=32, NH=2,
  # maxT=32, V=50257) on a slice of the default corpus. Exit 77 (skipped) without
  # data/gpt2/encoder.json (scripts/fetch-gpt2-tokenizer.sh) or, for opencl, an OpenCL device.
  if(BUILD_TESTING AND TARGET nodusctl)
    set(gpt2_train_env "NODUSD=$<TARGET_FILE:nodusd>" "NODUSCTL=$<TARGET_FILE:nodusctl>"
                       "NODUS_GPT2=$<TARGET_FILE:nodus-gpt2>"
                       "GPT2_BPE_DIR=${PROJECT_SOURCE_DIR}/data/gpt2")
    if(NODUS_SANITIZE MATCHES thread)
      # libgomp and OpenBLAS threads are invisible to TSan and give false reports
      list(APPEND gpt2_train_env OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1)
    endif()
    foreach(case learns forkjoin granularity opencl checkpoint)
      add_test(NAME gpt2.train_${case}
               COMMAND bash ${PROJECT_SOURCE_DIR}/tests/gpt2/test_gpt2_train.sh ${case})
      set_tests_properties(gpt2.train_${case} PROPERTIES
        LABELS "gpt2;integration" TIMEOUT 300 SKIP_RETURN_CODE 77
        ENVIRONMENT "${gpt2_train_env}")
    endforeach()
    # nodusd SIGKILLed and restarted twice under a training run (issue 8)
    add_test(NAME gpt2.restart COMMAND bash ${PROJECT_SOURCE_DIR}/tests/gpt2/test_gpt2_restart.sh)
    set_tests_properties(gpt2.restart PROPERTIES
      LABELS "gpt2;integration" TIMEOUT 300 SKIP_RETURN_CODE 77
      ENVIRONMENT "${gpt2_train_env}")
  endif()
endif()
