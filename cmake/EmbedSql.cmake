# Generates a C++ source holding every NNN_name.sql migration of a folder, in order.
#   parley_embed_sql(OUTPUT file.cpp DIRECTORY sql/ [FUNCTION name] [FIRST n])
# FUNCTION names the generated accessor (embedded_migrations); FIRST is the
# number of the folder's first file (1; sql/postgres/ starts with the whole
# schema as of the SQLite migration it is numbered after).
function(parley_embed_sql)
  cmake_parse_arguments(A "" "OUTPUT;DIRECTORY;FUNCTION;FIRST" "" ${ARGN})
  if(NOT A_FUNCTION)
    set(A_FUNCTION embedded_migrations)
  endif()
  if(NOT A_FIRST)
    set(A_FIRST 1)
  endif()
  file(GLOB files CONFIGURE_DEPENDS ${A_DIRECTORY}/[0-9][0-9][0-9]_*.sql)
  list(SORT files)
  set(body "")
  set(expected ${A_FIRST})
  foreach(f ${files})
    get_filename_component(name ${f} NAME)
    string(SUBSTRING ${name} 0 3 number)
    math(EXPR version "${number}")
    if(NOT version EQUAL expected)
      message(FATAL_ERROR "migration ${name}: expected number ${expected}; migrations are numbered without gaps")
    endif()
    math(EXPR expected "${expected} + 1")
    file(READ ${f} sql)
    string(APPEND body "    {${version}, \"${name}\", R\"parley_sql(${sql})parley_sql\"},\n")
  endforeach()
  file(RELATIVE_PATH folder ${PROJECT_SOURCE_DIR} ${A_DIRECTORY})
  string(CONCAT content "// Generated from ${folder}/ by cmake/EmbedSql.cmake. Do not edit.\n"
              "#include \"server/store/migrations.hpp\"\n\n"
              "namespace parley::server {\n\n"
              "std::span<const migration> ${A_FUNCTION}() {\n"
              "    static const migration all[] = {\n${body}    };\n"
              "    return all;\n}\n\n}  // namespace parley::server\n")
  # Write through a temporary so the output changes (and recompiles) only when the SQL does.
  file(WRITE ${A_OUTPUT}.tmp "${content}")
  configure_file(${A_OUTPUT}.tmp ${A_OUTPUT} COPYONLY)
endfunction()
