# s8net_add_norm_plugin(<target> <source>... [OUTPUT_DIRECTORY <dir>] [NO_INSTALL])
#
# Builds one normalization plugin: a shared module `s8net_norm_<target>.so` (the CMake target is
# <target>; the norm's name is the plugin's kName) that exports only `s8net_norm_plugin_init`
# (hidden visibility plus a linker version script), links s8net::plugin_sdk (C++20 and OpenMP, the
# pool oneDNN runs on), oneDNN when the project has found it (DNNL::dnnl), but never libs8net, and
# fails to link if a symbol is missing. Without a build type (a single-config generator's default,
# which compiles unoptimized) it compiles with the Release flags. In the s8net build tree it lands
# in <build>/lib/s8net/plugins, the install layout, where the build's programs find plugins beside
# their bin/; it installs to <prefix>/lib/s8net/plugins unless NO_INSTALL is given.
set(_S8NET_PLUGIN_VERSION_SCRIPT "${CMAKE_CURRENT_LIST_DIR}/s8net_norm_plugin.map")

function(s8net_add_norm_plugin name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "NO_INSTALL" "OUTPUT_DIRECTORY" "")
  if(NOT arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "s8net_add_norm_plugin(${name}): no source files given")
  endif()
  add_library(${name} MODULE ${arg_UNPARSED_ARGUMENTS})
  target_link_libraries(${name} PRIVATE s8net::plugin_sdk)
  # The SDK itself needs no oneDNN (find_package(s8net COMPONENTS plugin_sdk) does not look for it);
  # a project that has it (the whole package, or its own find_package(dnnl)) hands it to its plugins.
  if(TARGET DNNL::dnnl)
    target_link_libraries(${name} PRIVATE DNNL::dnnl)
  endif()
  # A plugin runs inside every training step, and an empty build type means no optimization at all:
  # a plugin project configured without one would be silently slow.
  get_property(multi_config GLOBAL PROPERTY GENERATOR_IS_MULTI_CONFIG)
  if(NOT multi_config AND NOT CMAKE_BUILD_TYPE)
    separate_arguments(release_flags NATIVE_COMMAND "${CMAKE_CXX_FLAGS_RELEASE}")
    target_compile_options(${name} PRIVATE ${release_flags})
    message(STATUS "s8net_add_norm_plugin(${name}): no CMAKE_BUILD_TYPE, compiling with the Release flags "
                   "(${CMAKE_CXX_FLAGS_RELEASE})")
  endif()
  if(TARGET s8net_warnings)  # inside the s8net tree: its warning flags (errors in CI)
    target_link_libraries(${name} PRIVATE s8net_warnings)
  endif()
  if(arg_OUTPUT_DIRECTORY)
    set(output_dir "${arg_OUTPUT_DIRECTORY}")
  elseif(DEFINED S8NET_BUILD_PLUGIN_DIR)
    set(output_dir "${S8NET_BUILD_PLUGIN_DIR}")
    if(TARGET s8net_norm_plugins)  # what the s8net tree's app, tests and benchmarks depend on
      add_dependencies(s8net_norm_plugins ${name})
    endif()
  else()
    set(output_dir "${CMAKE_CURRENT_BINARY_DIR}")
  endif()
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    OUTPUT_NAME "s8net_norm_${name}"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LIBRARY_OUTPUT_DIRECTORY "${output_dir}"
    LINK_DEPENDS "${_S8NET_PLUGIN_VERSION_SCRIPT}")
  target_link_options(${name} PRIVATE
    "LINKER:--version-script=${_S8NET_PLUGIN_VERSION_SCRIPT}" "LINKER:--no-undefined")
  if(NOT arg_NO_INSTALL)
    if(NOT DEFINED S8NET_PLUGIN_INSTALL_DIR)
      set(S8NET_PLUGIN_INSTALL_DIR "lib/s8net/plugins")
    endif()
    install(TARGETS ${name} LIBRARY DESTINATION "${S8NET_PLUGIN_INSTALL_DIR}" COMPONENT plugins)
  endif()
endfunction()
