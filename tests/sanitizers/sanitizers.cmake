# Run-time settings for the sanitizer builds (MR_SANITIZE), appended to the environment of
# every test by MrTestHelper.cmake. Settings travel to all ranks: mpirun passes its
# environment to the processes it starts on this machine, and spawned workers inherit it.
if(NOT MR_SANITIZE)
  return()
endif()

set(_mr_san_dir ${CMAKE_CURRENT_LIST_DIR})
if("address" IN_LIST MR_SANITIZE)
  # fast_unwind_on_malloc=0: Open MPI's plug-ins are dlclose()d at MPI_Finalize, so their
  # allocation stacks must be recorded in full at malloc time for the suppressions
  # (libmpi, libopen-pal, ...) to match them.
  list(APPEND MR_TEST_ENVIRONMENT
    "ASAN_OPTIONS=fast_unwind_on_malloc=0:detect_leaks=1:abort_on_error=0:strict_string_checks=1"
    "LSAN_OPTIONS=suppressions=${_mr_san_dir}/lsan.supp:print_suppressions=0")
endif()
if("undefined" IN_LIST MR_SANITIZE)
  list(APPEND MR_TEST_ENVIRONMENT "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
endif()
if("thread" IN_LIST MR_SANITIZE)
  list(APPEND MR_TEST_ENVIRONMENT
    "TSAN_OPTIONS=suppressions=${_mr_san_dir}/tsan.supp:halt_on_error=1:second_deadlock_stack=1")
endif()
