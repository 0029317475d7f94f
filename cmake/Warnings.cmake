# Warnings are errors in every target of the project (not in third-party headers).
add_library(kfk_warnings INTERFACE)
target_compile_options(kfk_warnings INTERFACE -Wall -Wextra -Werror -Wno-missing-field-initializers)
