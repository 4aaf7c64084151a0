# Install rules and the CMake package config, so other projects can use mr either as
#   find_package(mr CONFIG REQUIRED)   + target_link_libraries(app PRIVATE mr::mr)
# against an installed tree, or through add_subdirectory(mr) (which gets the same mr::mr
# alias from the top-level CMakeLists.txt).
option(MR_INSTALL "Generate install rules for mr" ON)
if(NOT MR_INSTALL)
  return()
endif()

include(CMakePackageConfigHelpers)

set(MR_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/mr
    CACHE STRING "Where the mr CMake package config is installed, relative to the prefix")

# The exported target is called mr::mr, like the in-tree alias.
set_target_properties(mr PROPERTIES EXPORT_NAME mr)

install(TARGETS mr mapreduce
  EXPORT mrTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/mr
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.hpp")

install(EXPORT mrTargets
  NAMESPACE mr::
  DESTINATION ${MR_INSTALL_CMAKEDIR}
  FILE mrTargets.cmake)

configure_package_config_file(
  ${CMAKE_CURRENT_LIST_DIR}/mrConfig.cmake.in
  ${PROJECT_BINARY_DIR}/mrConfig.cmake
  INSTALL_DESTINATION ${MR_INSTALL_CMAKEDIR})
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/mrConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)

install(FILES
  ${PROJECT_BINARY_DIR}/mrConfig.cmake
  ${PROJECT_BINARY_DIR}/mrConfigVersion.cmake
  ${CMAKE_CURRENT_LIST_DIR}/mrIsal.cmake
  DESTINATION ${MR_INSTALL_CMAKEDIR})
