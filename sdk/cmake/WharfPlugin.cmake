# wharf_add_plugin(<name> <sources>...)
#
# Builds a Wharf plugin <name>.so that exports only wharf_plugin_entry, with
# hidden visibility and no STB_GNU_UNIQUE symbols (which would make dlclose a
# no-op and hot reload run old code).
function(wharf_add_plugin name)
  set(map ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/wharf-plugin.map)
  add_library(${name} MODULE ${ARGN})
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LINK_DEPENDS ${map})
  if(TARGET wharf::sdk)
    target_link_libraries(${name} PRIVATE wharf::sdk)
  else()
    target_link_libraries(${name} PRIVATE Wharf::wharf_sdk)
  endif()
  # (Clang never makes such symbols, and has no such flag.)
  target_compile_options(${name} PRIVATE
    $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<CXX_COMPILER_ID:GNU>>:-fno-gnu-unique>)
  target_link_options(${name} PRIVATE
    -Wl,--version-script=${map} -Wl,--no-undefined)
endfunction()
