# lsock_soname(<var> <library>): sets <var> to the SONAME of the shared
# library file <library> (a path, symlinks allowed), read from its dynamic
# section with objdump -p: the name dlopen(3) finds it by at run time, as
# the dynamic linker does for a linked library. Without objdump, or for a
# file with no SONAME, <var> is the file's own name.
function(lsock_soname var lib)
  get_filename_component(real "${lib}" REALPATH)
  get_filename_component(soname "${lib}" NAME)
  set(found FALSE)
  if(CMAKE_OBJDUMP)
    execute_process(COMMAND ${CMAKE_OBJDUMP} -p "${real}"
                    OUTPUT_VARIABLE dyn ERROR_QUIET RESULT_VARIABLE rc)
    if(rc EQUAL 0 AND dyn MATCHES "\n[ \t]*SONAME[ \t]+([^ \t\n]+)")
      set(soname "${CMAKE_MATCH_1}")
      set(found TRUE)
    endif()
  endif()
  if(NOT found)
    message(WARNING "no SONAME read from ${lib}: loading it as ${soname}")
  endif()
  set(${var} "${soname}" PARENT_SCOPE)
endfunction()
