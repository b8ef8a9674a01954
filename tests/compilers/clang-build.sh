#!/bin/sh
# The project checks both compilers: configures SOURCE with clang in BUILD,
# builds it (warnings are errors there too) and runs its unit tests. Skipped
# (77) where clang is not installed.
#   clang-build.sh SOURCE BUILD
set -eu
command -v clang > /dev/null || { echo "clang is not installed: skipped"; exit 77; }
[ -d "$2" ] || CC=clang meson setup "$2" "$1"
ninja -C "$2" -j2
meson test -C "$2" --suite unit --print-errorlogs
