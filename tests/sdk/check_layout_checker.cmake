# cmake -DCHECKER=<wharf_layout> -DINCLUDE_DIR=<sdk/include> -P check_layout_checker.cmake
# The layout checker runs clean (it checks that its fields cover each struct
# whole) and prints every struct and constant of wharf.h and wharf_kv.h.
cmake_minimum_required(VERSION 3.25)
execute_process(COMMAND ${CHECKER} OUTPUT_VARIABLE output ERROR_VARIABLE errors
                RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "the layout checker does not cover wharf.h:\n${errors}")
endif()
# wharf_kv.h's helper structs live in the plugin, not in the zone: only the
# zone's layout (wharf_kv_table, wharf_kv_entry) is shared, so only it is checked.
set(plugin_side wharf_kv wharf_kv_increment wharf_kv_comparison wharf_kv_value)
set(missing "")
foreach(header wharf.h wharf_kv.h)
  file(READ ${INCLUDE_DIR}/wharf/${header} text)
  string(REGEX MATCHALL "typedef struct [a-z_]+ {" structs "${text}")
  foreach(struct IN LISTS structs)
    string(REGEX REPLACE "typedef struct ([a-z_]+) {" "\\1" name "${struct}")
    if(NOT name IN_LIST plugin_side AND NOT output MATCHES "\nsize ${name} ")
      list(APPEND missing "struct ${name}")
    endif()
  endforeach()
  # Numeric macros (#define WHARF_X 1, 0x…u, (1u << n)) and enum members (WHARF_X = n).
  string(REGEX MATCHALL "#define WHARF_[A-Z0-9_]+ [(0-9]" macros "${text}")
  string(REGEX MATCHALL "  WHARF_[A-Z0-9_]+ = " members "${text}")
  foreach(definition IN LISTS macros members)
    string(REGEX MATCH "WHARF_[A-Z0-9_]+" name "${definition}")
    if(NOT output MATCHES "\nconst ${name} ")
      list(APPEND missing "constant ${name}")
    endif()
  endforeach()
endforeach()
if(missing)
  list(JOIN missing "\n  " listed)
  message(FATAL_ERROR "sdk/checker/wharf_layout.c does not print:\n  ${listed}")
endif()
