# What `cmake --install` adds beyond the targets' own install rules: the CMake package (config,
# version file, exported targets of the library, of the image import, of the reports and of the
# plugin SDK, the plugin function) and s8net.pc, s8net-image-import.pc and s8net-report.pc for
# pkg-config.
include(CMakePackageConfigHelpers)
set(S8NET_CMAKE_INSTALL_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/s8net")

install(EXPORT s8netTargets NAMESPACE s8net:: DESTINATION "${S8NET_CMAKE_INSTALL_DIR}" COMPONENT dev)
install(EXPORT s8netImageImportTargets NAMESPACE s8net:: DESTINATION "${S8NET_CMAKE_INSTALL_DIR}" COMPONENT dev)
install(EXPORT s8netReportTargets NAMESPACE s8net:: DESTINATION "${S8NET_CMAKE_INSTALL_DIR}" COMPONENT dev)
install(EXPORT s8netPluginSdkTargets NAMESPACE s8net:: DESTINATION "${S8NET_CMAKE_INSTALL_DIR}" COMPONENT dev)
configure_package_config_file("${CMAKE_CURRENT_LIST_DIR}/s8netConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/s8netConfig.cmake"
  INSTALL_DESTINATION "${S8NET_CMAKE_INSTALL_DIR}"
  PATH_VARS S8NET_PLUGIN_INSTALL_DIR)
# The ABI of the plugins and of the library changes with the minor version while s8net is 0.x.
write_basic_package_version_file("${PROJECT_BINARY_DIR}/s8netConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES
  "${PROJECT_BINARY_DIR}/s8netConfig.cmake"
  "${PROJECT_BINARY_DIR}/s8netConfigVersion.cmake"
  "${CMAKE_CURRENT_LIST_DIR}/s8netNormPlugin.cmake"
  "${CMAKE_CURRENT_LIST_DIR}/s8net_norm_plugin.map"
  DESTINATION "${S8NET_CMAKE_INSTALL_DIR}" COMPONENT dev)

# The prefix is found relative to the .pc file itself, so the same file serves `cmake --install
# --prefix` anywhere and the .deb. @ONLY leaves pkg-config's own ${...} references alone.
file(RELATIVE_PATH S8NET_PC_TO_PREFIX "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
string(REGEX REPLACE "/$" "" S8NET_PC_TO_PREFIX "${S8NET_PC_TO_PREFIX}")
foreach(module s8net s8net-image-import s8net-report)
  configure_file("${CMAKE_CURRENT_LIST_DIR}/${module}.pc.in" "${PROJECT_BINARY_DIR}/${module}.pc" @ONLY)
  install(FILES "${PROJECT_BINARY_DIR}/${module}.pc" DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig" COMPONENT dev)
endforeach()
