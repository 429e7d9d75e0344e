# cmake -DPLUGIN=path.so -P check_exports.cmake
# Fails unless the plugin's dynamic symbol table defines wharf_plugin_entry and
# nothing else, and no symbol is STB_GNU_UNIQUE (which would pin the library).
execute_process(COMMAND nm -D --defined-only ${PLUGIN} OUTPUT_VARIABLE defined RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "nm failed on ${PLUGIN}")
endif()
string(REGEX REPLACE "[0-9a-fA-F]+ [A-Za-z] " "" names "${defined}")
string(STRIP "${names}" names)
if(NOT names STREQUAL "wharf_plugin_entry")
  message(FATAL_ERROR "${PLUGIN} exports more than wharf_plugin_entry:\n${defined}")
endif()
execute_process(COMMAND readelf --wide --symbols ${PLUGIN} OUTPUT_VARIABLE symbols)
if(symbols MATCHES "UNIQUE")
  message(FATAL_ERROR "${PLUGIN} has STB_GNU_UNIQUE symbols (build with -fno-gnu-unique):\n${symbols}")
endif()
message(STATUS "${PLUGIN}: exports only wharf_plugin_entry, no unique symbols")
