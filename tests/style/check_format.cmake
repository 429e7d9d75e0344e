# cmake -DCLANG_FORMAT=... -DSOURCE_DIR=... -P check_format.cmake
# Fails, listing the files, when any C/C++ source differs from clang-format's output.
file(GLOB_RECURSE sources
  ${SOURCE_DIR}/host/*.cpp ${SOURCE_DIR}/host/*.h
  ${SOURCE_DIR}/sdk/*.h ${SOURCE_DIR}/sdk/*.hpp ${SOURCE_DIR}/sdk/*.c
  ${SOURCE_DIR}/plugins/*.c ${SOURCE_DIR}/plugins/*.cpp ${SOURCE_DIR}/plugins/*.h
  ${SOURCE_DIR}/tests/*.c ${SOURCE_DIR}/tests/*.cpp ${SOURCE_DIR}/tests/*.h
  ${SOURCE_DIR}/bench/*.c ${SOURCE_DIR}/bench/*.cpp ${SOURCE_DIR}/bench/*.h)
execute_process(COMMAND ${CLANG_FORMAT} --dry-run --Werror ${sources}
  RESULT_VARIABLE rc ERROR_VARIABLE complaints)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "not formatted with clang-format (run clang-format -i on these):\n${complaints}")
endif()
