# Test registration helpers (after KaMPIng's kamping_register_mpi_test).
#
#   mr_add_unit_test(name SOURCES a.cpp ... [LIBS ...] [TIMEOUT s])
#       A plain gtest binary, run without mpiexec.
#   mr_add_mpi_test(name SOURCES a.cpp ... RANKS 1 2 3 4 [LIBS ...] [TIMEOUT s] [TCP])
#       One ctest per rank count, named name.<N>ranks, run oversubscribed under mpiexec
#       with the MPI-aware gtest main. TCP also registers name.<N>ranks.tcp with shared
#       memory disabled (--mca btl tcp,self), exercising the inter-node path.

set(MR_TEST_ENVIRONMENT
  OMPI_ALLOW_RUN_AS_ROOT=1
  OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  OMPI_MCA_rmaps_base_oversubscribe=1
  # Several test binaries may run at once on a 2-core machine: never let ranks spin-wait
  # with all cores taken.
  OMPI_MCA_mpi_yield_when_idle=1)
# Sanitizer builds add ASAN_OPTIONS/LSAN_OPTIONS/TSAN_OPTIONS (suppressions for Open MPI).
include(${CMAKE_CURRENT_LIST_DIR}/../sanitizers/sanitizers.cmake OPTIONAL)

set(MR_MPIEXEC_FLAGS --oversubscribe)

function(mr_add_unit_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 60)
  endif()
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE mr_private GTest::gtest GTest::gtest_main ${T_LIBS})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests/support)
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES TIMEOUT ${T_TIMEOUT} ENVIRONMENT "${MR_TEST_ENVIRONMENT}")
endfunction()

function(mr_add_mpi_test name)
  cmake_parse_arguments(T "TCP" "TIMEOUT" "SOURCES;LIBS;RANKS;ARGS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  if(NOT T_RANKS)
    set(T_RANKS 1 2 3 4)
  endif()
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE mr_private mr_mpi_gtest_main ${T_LIBS})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests/support)
  set(transports shm)
  if(T_TCP)
    list(APPEND transports tcp)
  endif()
  foreach(ranks ${T_RANKS})
    foreach(transport ${transports})
      set(test_name ${name}.${ranks}ranks)
      set(extra_flags)
      if(transport STREQUAL "tcp")
        set(test_name ${test_name}.tcp)
        set(extra_flags --mca btl tcp,self)
      endif()
      add_test(NAME ${test_name}
        COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${ranks} ${MR_MPIEXEC_FLAGS}
                ${extra_flags} ${MPIEXEC_PREFLAGS} $<TARGET_FILE:${name}> ${MPIEXEC_POSTFLAGS} ${T_ARGS})
      set_tests_properties(${test_name} PROPERTIES
        TIMEOUT ${T_TIMEOUT} PROCESSORS ${ranks} ENVIRONMENT "${MR_TEST_ENVIRONMENT}")
    endforeach()
  endforeach()
endfunction()
