# Cross-compiling for 64-bit Windows with mingw-w64 (Debian:
# gcc-mingw-w64-x86-64). CI's build check (.ci/run) builds the library only:
#   cmake -S . -B build-mingw -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64.cmake \
#     -DDC_WITH_ZSTD=OFF -DDC_WITH_LZ4=OFF \
#     -DDC_BUILD_TESTS=OFF -DDC_BUILD_BENCH=OFF -DDC_BUILD_EXAMPLES=OFF
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CMAKE_C_COMPILER x86_64-w64-mingw32-gcc)
# Libraries and headers from the target's sysroot only; programs from the host.
set(CMAKE_FIND_ROOT_PATH /usr/x86_64-w64-mingw32)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
