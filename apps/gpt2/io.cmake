# GPT-2's files and tokenizer (gpt2_io): llm.c's model, token and tokenizer files, the BPE
# encoder (PCRE2 for the pre-tokenization regex, json-c for encoder.json), and the `prepare` and
# `init` commands that the nodus-gpt2 program dispatches to. zlib, when found, lets prepare read
# gzip'd texts (the default corpus is one).
# GLOBAL: gpt2_io's link interface names these targets, and its users may live elsewhere
pkg_check_modules(GPT2_PCRE2 REQUIRED IMPORTED_TARGET GLOBAL libpcre2-8)
pkg_check_modules(GPT2_JSONC REQUIRED IMPORTED_TARGET GLOBAL json-c)
find_package(ZLIB GLOBAL)

# encoder.json and vocab.bpe: scripts/fetch-gpt2-tokenizer.sh puts them here (ignored by git)
set(GPT2_BPE_DIR ${PROJECT_SOURCE_DIR}/data/gpt2)

add_library(gpt2_io STATIC gpt2_file.c gpt2_model.c gpt2_data.c gpt2_bpe.c gpt2_tokenizer.c
  gpt2_prepare.c)
target_include_directories(gpt2_io PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(gpt2_io PUBLIC PkgConfig::GPT2_PCRE2 PkgConfig::GPT2_JSONC m)
target_compile_definitions(gpt2_io PRIVATE GPT2_DEFAULT_BPE_DIR="${GPT2_BPE_DIR}")
if(ZLIB_FOUND)
  target_link_libraries(gpt2_io PRIVATE ZLIB::ZLIB)
  target_compile_definitions(gpt2_io PRIVATE GPT2_HAVE_ZLIB)
endif()

# Tests: one cmocka program per file; the BPE, tokenizer and prepare tests exit 77 (skipped)
# where data/gpt2 has not been fetched. gpt2_io_cli runs prepare/init without the training
# program (measurements, manual checks).
if(BUILD_TESTING)
  pkg_check_modules(GPT2_CMOCKA REQUIRED IMPORTED_TARGET cmocka)
  set(gpt2_io_test_dir ${PROJECT_SOURCE_DIR}/tests/gpt2)
  foreach(name gpt2_model gpt2_data gpt2_bpe gpt2_tokenizer gpt2_prepare)
    if(NOT EXISTS ${gpt2_io_test_dir}/test_${name}.c)
      continue()
    endif()
    add_executable(test_${name} ${gpt2_io_test_dir}/test_${name}.c)
    target_link_libraries(test_${name} PRIVATE gpt2_io PkgConfig::GPT2_CMOCKA)
    target_compile_definitions(test_${name} PRIVATE GPT2_BPE_DIR="${GPT2_BPE_DIR}")
    if(ZLIB_FOUND)
      target_compile_definitions(test_${name} PRIVATE GPT2_HAVE_ZLIB)
    endif()
    add_test(NAME gpt2.${name} COMMAND test_${name})
    set_tests_properties(gpt2.${name} PROPERTIES LABELS "gpt2;unit" SKIP_RETURN_CODE 77
                         TIMEOUT 120)
  endforeach()
  add_executable(gpt2_io_cli ${gpt2_io_test_dir}/gpt2_io_cli.c)
  target_link_libraries(gpt2_io_cli PRIVATE gpt2_io)
  target_compile_definitions(gpt2_io_cli PRIVATE GPT2_BPE_DIR="${GPT2_BPE_DIR}")
endif()
