# tests/fuzz/fuzz.cmake - the libFuzzer harnesses (clang only).
#
# With clang as the C compiler, each tests/fuzz/fuzz_NAME.c becomes an
# executable fuzz_NAME linked against a copy of the library built with
# coverage instrumentation, ASan and UBSan; `cmake --build B --target
# fuzzers` builds them all.  scripts/test.sh builds them in build-fuzz/ with
# CC=clang and runs each for a fixed time; tests/test_regress_fuzz.c replays
# the saved inputs in every build.  With gcc this file does nothing.
if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  return()
endif()
option(VMSIM_FUZZ "Build the libFuzzer harnesses (clang)" ON)
if(NOT VMSIM_FUZZ)
  return()
endif()

set(VMSIM_FUZZ_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined
  -fno-omit-frame-pointer -g -O1)
add_library(vmsim_fuzzlib STATIC ${VMSIM_LIB_SRC})
target_compile_options(vmsim_fuzzlib PRIVATE ${VMSIM_FUZZ_FLAGS} -fsanitize=fuzzer-no-link)
target_include_directories(vmsim_fuzzlib PUBLIC ${CMAKE_SOURCE_DIR})
target_link_libraries(vmsim_fuzzlib PUBLIC PkgConfig::INIH PkgConfig::ZSTD PkgConfig::CJSON
  PkgConfig::LZMA PkgConfig::ZLIB m)

file(GLOB VMSIM_FUZZ_SRC CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_*.c)
set(VMSIM_FUZZERS)
foreach(src ${VMSIM_FUZZ_SRC})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_compile_options(${name} PRIVATE ${VMSIM_FUZZ_FLAGS} -fsanitize=fuzzer)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(${name} PRIVATE vmsim_fuzzlib)
  list(APPEND VMSIM_FUZZERS ${name})
endforeach()
add_custom_target(fuzzers DEPENDS ${VMSIM_FUZZERS})
