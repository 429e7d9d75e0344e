# Run at every build (cmake -P): writes OUTPUT, a header defining
# WHARF_BUILD_ID as `git describe --always --dirty` of SOURCE ("unknown"
# outside a git checkout), only when it changed, so an unchanged tree
# recompiles nothing.
execute_process(COMMAND git -C "${SOURCE}" describe --always --dirty --abbrev=12
                OUTPUT_VARIABLE id OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET
                RESULT_VARIABLE failed)
if(failed OR id STREQUAL "")
  set(id "unknown")
endif()
set(text "#define WHARF_BUILD_ID \"${id}\"\n")
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" old)
endif()
if(NOT old STREQUAL text)
  file(WRITE "${OUTPUT}" "${text}")
endif()
