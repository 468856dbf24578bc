#!/usr/bin/env bash
# Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#
# The package test (a CTest entry): install the build tree into a fresh prefix, then, using nothing but that
# prefix,
#   1. compile every public header on its own with no include path but the installed one,
#   2. configure and build examples/minimal_host with find_package(arpipe), and run it on a sample with the
#      installed default model,
#   3. move the installed tree, build the same host with pkg-config's flags, and check it prints the same;
#   4. with the installed models removed, check that the library does not fall back to the source tree.
# Hosts need C++17 only: the headers and the hosts are compiled as C++17.
# Before that it checks that the installed libarpipe.so exports arpipe's API and nothing else, that the
# generated version.h agrees with the library and the package files, and that the man page is installed and
# renders with the options of `arpipe run` (skipped, saying so, when the build had no help2man).
# Usage: tests/package/run.sh BUILD_DIR
set -euo pipefail
BUILD_DIR=$(cd "$1" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
PREFIX=$WORK/prefix

cmake --install "$BUILD_DIR" --prefix "$PREFIX" >/dev/null
test -f "$PREFIX/lib/cmake/arpipe/arpipeConfigVersion.cmake"
test -x "$PREFIX/bin/arpipe"

# The man page: installed when the build found help2man, and with the options of `arpipe run` in it (help2man
# reads only the top-level --help; tools/man/help-with-subcommands.sh adds the subcommands').
help2man_path=$(sed -n 's/^HELP2MAN:FILEPATH=//p' "$BUILD_DIR/CMakeCache.txt")
case "$help2man_path" in
    "" | *-NOTFOUND)
        echo "SKIPPED the man page check: this build found no help2man, so it made no man pages (apt install help2man)" ;;
    *)
        page=$PREFIX/share/man/man1/arpipe.1
        test -f "$page" || { echo "the build found help2man but did not install $page"; exit 1; }
        if command -v man >/dev/null 2>&1; then
            man -l "$page" > "$WORK/man.txt" 2>&1 || true
        else
            groff -man -Tutf8 -P -cbou "$page" > "$WORK/man.txt" 2>&1 || true
        fi
        for option in "ARPIPE RUN" --format --threads; do
            grep -qF -- "$option" "$WORK/man.txt" ||
                { cat "$WORK/man.txt"; echo "the rendered man page $page does not mention $option"; exit 1; }
        done
        echo "man page: $page renders, with the options of arpipe run" ;;
esac

# The library exports names in namespace arpipe only (with the typeinfo and vtables of its types): no copy of
# nlohmann, spdlog, fmt, TBB or LibTorch code that a host's own versions could bind to or replace
# (-fvisibility=hidden, ARPIPE_API and cmake/arpipe.map).
nm -D --defined-only --demangle "$PREFIX/lib/libarpipe.so" | cut -d' ' -f3- > "$WORK/exports.txt"
if grep -vE '^((typeinfo|typeinfo name|vtable) for )?arpipe::' "$WORK/exports.txt"; then
    echo "libarpipe.so exports the symbols above, which are not arpipe's"; exit 1
fi
grep -q '^arpipe::Engine::load(' "$WORK/exports.txt" || { echo "libarpipe.so does not export arpipe::Engine::load"; exit 1; }

# No path into the source tree's data is compiled in (debug information names source files; that is all).
if strings "$PREFIX/lib/libarpipe.so" | grep -F "$SRC/data"; then
    echo "the installed libarpipe.so holds the paths above, inside the source tree"; exit 1
fi

# Every header compiles alone, and the compiler's own list of what it opened (-H) holds nothing but the
# installed arpipe headers and the C and C++ standard libraries.
for h in "$PREFIX"/include/arpipe/*.h; do
    echo "#include <arpipe/$(basename "$h")>" | c++ -std=c++17 -fsyntax-only -H -I "$PREFIX/include" -x c++ - \
        2> "$WORK/opened.txt" || { cat "$WORK/opened.txt"; echo "public header $h does not compile alone"; exit 1; }
    if grep -E '^\.+ ' "$WORK/opened.txt" | grep -vE "^\.+ ($PREFIX/include/arpipe/|/usr/include/c\+\+/|/usr/include/x86_64-linux-gnu/c\+\+/|/usr/lib/gcc/|/usr/include/[^/]+\.h$|/usr/include/(x86_64-linux-gnu/)?(bits|sys|gnu|asm|asm-generic|linux)/)"; then
        echo "public header $h opens the headers above, which are not the installed arpipe's or the standard library's"
        exit 1
    fi
    if grep -E '^\.+ .*/(fftw3|sndfile|soxr|jemalloc|torch|tbb|spdlog|nlohmann)' "$WORK/opened.txt"; then
        echo "public header $h opens a dependency's header"; exit 1
    fi
done

# version.h is generated from project(VERSION): its macros, the linked library and the CMake package agree.
cat > "$WORK/version.cpp" <<'EOF'
#include <arpipe/version.h>
#include <cstdio>
#include <cstring>
#define STR2(x) #x
#define STR(x) STR2(x)
int main() {
    std::puts(arpipe::version_string());
    return std::strcmp(arpipe::version_string(),
                       STR(ARPIPE_VERSION_MAJOR) "." STR(ARPIPE_VERSION_MINOR) "." STR(ARPIPE_VERSION_PATCH)) != 0;
}
EOF
c++ -std=c++17 "$WORK/version.cpp" -I "$PREFIX/include" -L "$PREFIX/lib" -larpipe -Wl,-rpath,"$PREFIX/lib" \
    -o "$WORK/version"
version=$("$WORK/version") || { echo "version.h says another version than libarpipe.so ($version)"; exit 1; }
grep -qF "PACKAGE_VERSION \"$version\"" "$PREFIX/lib/cmake/arpipe/arpipeConfigVersion.cmake" ||
    { echo "arpipeConfigVersion.cmake is not for version $version"; exit 1; }

cmake -S "$SRC/examples/minimal_host" -B "$WORK/host" -DCMAKE_PREFIX_PATH="$PREFIX" -DCMAKE_CXX_STANDARD=17 >/dev/null
flags=$(cat "$WORK/host/CMakeFiles/minimal_host.dir/flags.make")
case "$flags" in
    *-std=gnu++20* | *-std=c++20*) echo "find_package(arpipe) forces C++20 on its host"; exit 1 ;;
esac  # C++17 or the compiler's default (GCC 12: gnu++17), which CMake then leaves unsaid
cmake --build "$WORK/host" >/dev/null
sample=$(ls "$SRC"/data/samples/*.flac "$SRC"/data/samples/*.wav 2>/dev/null | head -n 1)
model_args=()
[ -f "$PREFIX/share/arpipe/models/tagger.pt" ] || model_args=("$PREFIX/share/arpipe/models/silero_vad.pt")
"$WORK/host/minimal_host" "$sample" "${model_args[@]}" > "$WORK/out.txt"
test -s "$WORK/out.txt" || { echo "the host printed no events for $sample"; exit 1; }
echo "minimal_host on $(basename "$sample"):"; cat "$WORK/out.txt"

# The live host (examples/live_host): a sample pushed through a stream in 20 ms blocks (at 200x real time)
# must give the events the installed command gives for the file, and state its latency.
cmake -S "$SRC/examples/live_host" -B "$WORK/live" -DCMAKE_PREFIX_PATH="$PREFIX" -DCMAKE_CXX_STANDARD=17 >/dev/null
cmake --build "$WORK/live" >/dev/null
live_sample="$SRC/data/samples/music_singularity.ogg"
live_model=("${model_args[@]}")
[ ${#live_model[@]} -eq 0 ] || live_model=(--model "${model_args[0]}")
"$WORK/live/live_host" "$live_sample" --speed 200 "${live_model[@]}" > "$WORK/live.txt"
grep -q '^worst latency' "$WORK/live.txt" || { echo "live_host printed no latency line"; exit 1; }
awk '$1 == "event" { printf "%s %s %s\n", $2, $3, $4 }' "$WORK/live.txt" > "$WORK/live_events.txt"
cli_model=()
[ ${#model_args[@]} -eq 0 ] || cli_model=(--model "${model_args[0]}")
"$PREFIX/bin/arpipe" run -q -f csv "${cli_model[@]}" "$live_sample" |
    awk -F, '$1 == "event" { printf "%s %s %s\n", $3, $4, $5 }' > "$WORK/cli_events.txt"
test -s "$WORK/live_events.txt" || { echo "live_host printed no events"; exit 1; }
cmp "$WORK/live_events.txt" "$WORK/cli_events.txt" ||
    { echo "live_host's events differ from arpipe run's:"; cat "$WORK/live.txt" "$WORK/cli_events.txt"; exit 1; }
echo "live_host on $(basename "$live_sample"):"; cat "$WORK/live.txt"

# pkg-config: the same host built from the .pc file's flags alone, with the installed tree moved elsewhere
# first (the .pc file locates its prefix from its own path).
mv "$PREFIX" "$WORK/moved"
PREFIX=$WORK/moved
pc() { PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig" pkg-config "$@" arpipe; }
test "$(pc --modversion)" = "$(sed -n 's/^Version: //p' "$PREFIX/lib/pkgconfig/arpipe.pc")"
libdir=$(cd "$(pc --variable=libdir)" && pwd)
test "$libdir" = "$PREFIX/lib" || { echo "pkg-config libdir $libdir is not inside $PREFIX"; exit 1; }
# shellcheck disable=SC2046  # the flags are meant to split
c++ -std=c++17 "$SRC/examples/minimal_host/main.cpp" $(pc --cflags) $(pc --libs) -Wl,-rpath,"$libdir" -o "$WORK/pc_host"
"$WORK/pc_host" "$sample" "${model_args[@]/$WORK\/prefix/$PREFIX}" > "$WORK/pc_out.txt"
cmp "$WORK/out.txt" "$WORK/pc_out.txt" || { echo "the pkg-config build printed something else"; exit 1; }

# Without its installed models, the moved library must not find the source tree's: default_model_path()
# names a path inside the prefix or the configured install directory, and that file does not exist.
rm -rf "$PREFIX/share/arpipe/models"
cat > "$WORK/where.cpp" <<'EOF2'
#include <arpipe/engine.h>
#include <cstdio>
int main() { std::puts(arpipe::default_model_path().c_str()); }
EOF2
c++ -std=c++17 "$WORK/where.cpp" $(pc --cflags) $(pc --libs) -Wl,-rpath,"$libdir" -o "$WORK/where"
where=$(env -u ARPIPE_MODEL "$WORK/where")
case "$where" in
    "$SRC"/*) echo "with its models removed, the installed library falls back to the source tree: $where"; exit 1 ;;
esac
test ! -e "$where" || { echo "default_model_path() found $where, which was removed"; exit 1; }
echo "package test passed"
