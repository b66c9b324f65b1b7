# Generates a C++ source holding every sql/NNN_name.sql migration, in order.
#   parley_embed_sql(OUTPUT file.cpp DIRECTORY sql/)
function(parley_embed_sql)
  cmake_parse_arguments(A "" "OUTPUT;DIRECTORY" "" ${ARGN})
  file(GLOB files CONFIGURE_DEPENDS ${A_DIRECTORY}/[0-9][0-9][0-9]_*.sql)
  list(SORT files)
  set(body "")
  set(expected 1)
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
  string(CONCAT content "// Generated from sql/ by cmake/EmbedSql.cmake. Do not edit.\n"
              "#include \"server/store/migrations.hpp\"\n\n"
              "namespace parley::server {\n\n"
              "std::span<const migration> embedded_migrations() {\n"
              "    static const migration all[] = {\n${body}    };\n"
              "    return all;\n}\n\n}  // namespace parley::server\n")
  # Write through a temporary so the output changes (and recompiles) only when the SQL does.
  file(WRITE ${A_OUTPUT}.tmp "${content}")
  configure_file(${A_OUTPUT}.tmp ${A_OUTPUT} COPYONLY)
endfunction()
