#!/usr/bin/env bash
# Install libvtd from a configured build tree into a temporary prefix, then
# use it as an outside project would:
#   - the installed files: libvtd.a, libvtd.so*, include/vtd/*.h with
#     version.h, bin/vtd, man1/vtd.1, vtd.pc, lib/cmake/vtd/*.cmake;
#   - tests/install/consumer.c built with pkg-config (shared), and with a
#     CMake project using find_package(vtd) (vtd::vtd and vtd::vtd_static),
#     each run: it programs a unit, translates, builds a DMAR table;
#   - vtd --version, pkg-config --modversion, VTD_VERSION_STRING and the man
#     page header all name the CMake project version;
#   - the man page renders (man -l, else groff) without warnings.
# Usage: install_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BUILD=$1
SRC=$2
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
P=$t/prefix
fail() { echo "install_test: $*" >&2; exit 1; }

cmake --install "$BUILD" --prefix "$P" > "$t/install.log"
version=$(sed -nE 's/^project\(libvtd VERSION ([0-9.]+).*/\1/p' "$SRC/CMakeLists.txt")
[ -n "$version" ] || fail "no version in CMakeLists.txt"

libdir=$(dirname "$(find "$P" -name 'libvtd.a' | head -1)")
[ -d "$libdir" ] || fail "libvtd.a not installed"
for f in "$libdir/libvtd.so" "$libdir/libvtd.so.0" "$P/bin/vtd" "$P/include/vtd/vtd.h" \
         "$P/include/vtd/acpi.h" "$P/include/vtd/version.h" "$P/share/man/man1/vtd.1" \
         "$libdir/pkgconfig/vtd.pc" "$libdir/cmake/vtd/vtdConfig.cmake" \
         "$libdir/cmake/vtd/vtdConfigVersion.cmake" "$libdir/cmake/vtd/vtdTargets.cmake"; do
    [ -e "$f" ] || fail "not installed: ${f#$P/}"
done
for h in "$SRC"/include/vtd/*.h; do
    cmp -s "$h" "$P/include/vtd/$(basename "$h")" || fail "header $(basename "$h") not installed"
done

# the installed tool
got=$("$P/bin/vtd" --version)
[ "$got" = "vtd (libvtd) $version" ] || fail "vtd --version says '$got', project is $version"

# pkg-config (relocatable: the prefix comes from the .pc file's place)
export PKG_CONFIG_PATH=$libdir/pkgconfig
[ "$(pkg-config --modversion vtd)" = "$version" ] || fail "pkg-config version"
CC=${CC:-cc}
# set by CMake for sanitizer / fuzz builds, whose library needs the same runtime
read -r -a XF <<< "${VTD_CONSUMER_FLAGS:-}"
# shellcheck disable=SC2046
$CC -std=c11 -Wall -Wextra -Werror ${XF[@]+"${XF[@]}"} -o "$t/consumer_pc" "$SRC/tests/install/consumer.c" \
    $(pkg-config --cflags --libs vtd)
out=$(LD_LIBRARY_PATH=$libdir "$t/consumer_pc")
[ "$out" = "consumer $version ok" ] || fail "pkg-config consumer said '$out'"
# (into a variable: grep -q closing the pipe early fails ldd under pipefail)
deps=$(LD_LIBRARY_PATH=$libdir ldd "$t/consumer_pc")
grep -q "$libdir/libvtd.so" <<< "$deps" ||
    fail "pkg-config consumer is not linked to the installed libvtd.so"
# the static library through pkg-config --static
$CC -std=c11 ${XF[@]+"${XF[@]}"} -o "$t/consumer_pcs" "$SRC/tests/install/consumer.c" \
    $(pkg-config --cflags vtd) "$libdir/libvtd.a" $(pkg-config --static --libs-only-other vtd)
[ "$("$t/consumer_pcs")" = "consumer $version ok" ] || fail "static pkg-config consumer"

# CMake find_package
cmake -S "$SRC/tests/install" -B "$t/cm" -DCMAKE_PREFIX_PATH="$P" -DCMAKE_C_COMPILER="$CC" \
    -DCMAKE_C_FLAGS="${VTD_CONSUMER_FLAGS:-}" -DCMAKE_EXE_LINKER_FLAGS="${VTD_CONSUMER_FLAGS:-}" \
    > "$t/cm.log" 2>&1 || { cat "$t/cm.log"; fail "find_package(vtd) project did not configure"; }
cmake --build "$t/cm" > "$t/cmb.log" 2>&1 || { cat "$t/cmb.log"; fail "find_package(vtd) project did not build"; }
[ "$("$t/cm/consumer")" = "consumer $version ok" ] || fail "find_package consumer (vtd::vtd)"
[ "$("$t/cm/consumer_static")" = "consumer $version ok" ] || fail "find_package consumer (vtd::vtd_static)"
# a version the package does not offer is refused
mkdir -p "$t/cm2"
sed 's/find_package(vtd 0.1 REQUIRED)/find_package(vtd 9.0 REQUIRED)/' "$SRC/tests/install/CMakeLists.txt" \
    > "$t/cm2/CMakeLists.txt"
cp "$SRC/tests/install/consumer.c" "$t/cm2/"
if cmake -S "$t/cm2" -B "$t/cm2/b" -DCMAKE_PREFIX_PATH="$P" > /dev/null 2>&1; then
    fail "find_package(vtd 9.0) accepted version $version"
fi

# the man page
man1=$P/share/man/man1/vtd.1
grep -q "^\.TH VTD 1 .*\"libvtd $version\"" "$man1" || fail "man page .TH does not name libvtd $version"
if command -v man >/dev/null 2>&1; then
    MANWIDTH=80 man -l "$man1" > "$t/man.txt" 2> "$t/man.err" || fail "man -l failed"
elif command -v groff >/dev/null 2>&1; then
    groff -man -Tutf8 "$man1" > "$t/man.txt" 2> "$t/man.err" || fail "groff failed"
else
    fail "neither man nor groff installed (Debian man-db / groff-base)"
fi
[ ! -s "$t/man.err" ] || { cat "$t/man.err"; fail "man page warnings"; }
for s in NAME SYNOPSIS COMMANDS "PLATFORM FORMAT" "EXIT STATUS"; do
    grep -q "^$s" "$t/man.txt" || fail "rendered man page has no $s section"
done
for c in help walk "dmar decode" "dmar build" demo run audit bench; do
    grep -qE "^   $c" "$t/man.txt" || fail "man page has no section for 'vtd $c'"
done
# every command the tool lists has a man page section
for c in $("$P/bin/vtd" help | sed -nE 's/^  ([a-z]+) .*/\1/p'); do
    grep -qE "^   $c( |$)" "$t/man.txt" || fail "'vtd $c' is not in the man page"
done
echo "install_test: installed to a temp prefix; pkg-config and find_package consumers ran; man page renders ($(wc -l < "$t/man.txt") lines)"
