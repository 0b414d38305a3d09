# workloads/freestanding.cmake - the second build of every workload.
#
# Included by the top CMakeLists (include(... OPTIONAL)).  Defines:
#   vmsim_wl_freestanding         STATIC library for the KVM guest: every
#                                 workloads/*.c except registry.c, plus the
#                                 entry points in fs/wl_fs.c, compiled
#                                 -ffreestanding with -DVMSIM_FREESTANDING.
#                                 The guest provides wlrt_* (see wl.h) and, as
#                                 gcc requires of any freestanding program,
#                                 memset/memcpy.  Position-dependent code
#                                 (-fno-pic, small code model): link it below
#                                 2 GiB and, in a host program, with -no-pie.
#   vmsim_wl_freestanding_traced  the same sources with -DWL_FS_TRACE: every
#                                 load, store, call and ret also calls
#                                 wlrt_trace().  For recording shims only.
#   wl-record                     host program: the traced library run with
#                                 the recording shim (fs/wl_record.c), used by
#                                 tests/test_workloads.c.
#
# The simulator objects (libvmsim) and these define the same wl_<name>
# symbols; a program holding both must localise one set (objcopy
# --keep-global-symbol), as kvm-harness does.

set(VMSIM_WL_FS_FLAGS
  -ffreestanding -nostdlib -fno-builtin -fno-stack-protector -mno-red-zone
  -fno-pic -fno-pie -O2 -mgeneral-regs-only
  -fno-asynchronous-unwind-tables -fcf-protection=none
  # A sanitizer build adds -fsanitize globally; its runtime does not exist in
  # the guest.
  -fno-sanitize=all)
include(CheckCCompilerFlag)
# gcc turns copy and zeroing loops into memcpy/memset calls unless told not
# to; the guest runtime defines them, but the workloads should not need them.
check_c_compiler_flag(-fno-tree-loop-distribute-patterns VMSIM_CC_NO_LDP)
if(VMSIM_CC_NO_LDP)
  list(APPEND VMSIM_WL_FS_FLAGS -fno-tree-loop-distribute-patterns)
endif()
if(CMAKE_C_COMPILER_ID MATCHES "Clang")
  list(APPEND VMSIM_WL_FS_FLAGS -Wno-unused-command-line-argument) # -nostdlib
endif()

file(GLOB VMSIM_WL_FS_SRC CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/*.c)
list(REMOVE_ITEM VMSIM_WL_FS_SRC ${CMAKE_CURRENT_LIST_DIR}/registry.c)
list(APPEND VMSIM_WL_FS_SRC ${CMAKE_CURRENT_LIST_DIR}/fs/wl_fs.c)

foreach(_v vmsim_wl_freestanding vmsim_wl_freestanding_traced)
  add_library(${_v} STATIC ${VMSIM_WL_FS_SRC})
  target_compile_definitions(${_v} PUBLIC VMSIM_FREESTANDING)
  target_compile_options(${_v} PRIVATE ${VMSIM_WL_FS_FLAGS})
  target_include_directories(${_v} PUBLIC ${CMAKE_SOURCE_DIR})
  set_target_properties(${_v} PROPERTIES POSITION_INDEPENDENT_CODE OFF)
endforeach()
target_compile_definitions(vmsim_wl_freestanding_traced PUBLIC WL_FS_TRACE)

# The recording shim.  No sanitizer here even in a sanitizer build: the
# workloads' fixed addresses (16 TiB and up) overlap AddressSanitizer's
# shadow memory.
add_executable(wl-record ${CMAKE_CURRENT_LIST_DIR}/fs/wl_record.c)
target_link_libraries(wl-record PRIVATE vmsim_wl_freestanding_traced)
set_target_properties(wl-record PROPERTIES
  RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}
  POSITION_INDEPENDENT_CODE OFF
  LINK_OPTIONS "")
target_compile_options(wl-record PRIVATE -fno-sanitize=all)
target_link_options(wl-record PRIVATE -no-pie)
