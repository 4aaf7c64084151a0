# ISA-L's inflate (Debian libisal-dev): ISAL::ISAL. Measured 4.7x zlib's speed on the
# benchmark's 1-gram shards (scripts/bench_inflate.sh), so mr reads every .gz with it.
# Used by the build and by the installed package config (libmr is static: a link dependency).
if(NOT TARGET ISAL::ISAL)
  find_path(MR_ISAL_INCLUDE_DIR isa-l/igzip_lib.h)
  find_library(MR_ISAL_LIBRARY isal)
  if(NOT MR_ISAL_INCLUDE_DIR OR NOT MR_ISAL_LIBRARY)
    message(FATAL_ERROR "mr needs ISA-L (isa-l/igzip_lib.h, libisal): apt-get install libisal-dev")
  endif()
  add_library(ISAL::ISAL UNKNOWN IMPORTED)
  set_target_properties(ISAL::ISAL PROPERTIES
    IMPORTED_LOCATION ${MR_ISAL_LIBRARY}
    INTERFACE_INCLUDE_DIRECTORIES ${MR_ISAL_INCLUDE_DIR})
endif()
