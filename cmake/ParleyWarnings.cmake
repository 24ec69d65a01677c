# parley_warnings(target): the house warning set, -Werror when PARLEY_WERROR is on (CI).
function(parley_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wconversion -Wshadow)
  # GCC 12 reports Asio's coroutine frame allocator as mismatched new/delete at -O2: a known
  # false positive (the frame's class-specific operator new and delete do match).
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} PRIVATE -Wno-mismatched-new-delete)
  endif()
  if(PARLEY_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
