# Generates a .cpp that returns the interface description verbatim.
file(READ "${INPUT}" CONTENT)
file(WRITE "${OUTPUT}.tmp"
  "#include \"daemon/interfaces.h\"\nnamespace guardd {\nstd::string_view guard_interface_description() {\n  return R\"varlink(${CONTENT})varlink\";\n}\n}  // namespace guardd\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
