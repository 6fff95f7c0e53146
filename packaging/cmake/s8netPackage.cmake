# `cpack` (run in a build directory) makes Debian packages, one per install component:
#   s8net          the command-line app (depends on s8net-plugins)
#   s8net-plugins  the bn, gn, ln and in normalization plugins
#   s8net-dev      libs8net.a, libs8net_image_import.a, libs8net_report.a, headers, the CMake
#                  package, s8net.pc, s8net-image-import.pc and s8net-report.pc (for projects
#                  linking s8net)
#   s8net-bench    the Google Benchmark binaries and bench_report
# Shared-library dependencies come from dpkg-shlibdeps; the static library's, which it cannot see,
# are listed by hand as the -dev packages a project linking libs8net needs.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME s8net)
set(CPACK_PACKAGE_VENDOR "s8net")
set(CPACK_PACKAGE_CONTACT "s8net maintainers <s8net@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_DIRECTORY "${PROJECT_BINARY_DIR}/packages")
set(CPACK_COMPONENTS_ALL app plugins dev bench)

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION science)

set(CPACK_COMPONENT_APP_DEPENDS plugins)
set(CPACK_COMPONENT_BENCH_DEPENDS plugins)
set(CPACK_DEBIAN_APP_PACKAGE_NAME s8net)
set(CPACK_DEBIAN_PLUGINS_PACKAGE_NAME s8net-plugins)
set(CPACK_DEBIAN_DEV_PACKAGE_NAME s8net-dev)
set(CPACK_DEBIAN_BENCH_PACKAGE_NAME s8net-bench)
set(CPACK_DEBIAN_APP_PACKAGE_DEPENDS "fonts-dejavu-core")  # the reports' text, drawn by cairo
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
    "cmake (>= 3.25), pkg-config, libdnnl-dev (>= 2.6), ocl-icd-opencl-dev, libboost-dev (>= 1.74), libboost-filesystem-dev (>= 1.74), libtbb-dev, libturbojpeg0-dev, libpng-dev, libarchive-dev, libcairo2-dev")
set(CPACK_COMPONENT_APP_DESCRIPTION "s8net command-line app: train, evaluate and compare the S8 CIFAR-10 network")
set(CPACK_COMPONENT_PLUGINS_DESCRIPTION "s8net normalization plugins: BatchNorm, GroupNorm, LayerNorm, InstanceNorm")
set(CPACK_COMPONENT_DEV_DESCRIPTION "s8net static libraries (core, image import and reports), headers, CMake package, pkg-config files and plugin SDK")
set(CPACK_COMPONENT_BENCH_DESCRIPTION "s8net benchmarks: BN vs GN vs LN throughput (Google Benchmark)")
include(CPack)
