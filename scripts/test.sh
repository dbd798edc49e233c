#!/usr/bin/env bash
# Set up, configure, build and run the whole libvtd test suite (CTest).
#
#   ./scripts/test.sh                                # default compiler, build dir "build"
#   CC=clang ./scripts/test.sh                       # another compiler (or --cc=clang)
#   ./scripts/test.sh --sanitize=address,undefined   # ASan+UBSan, build dir "build-asan"
#   ./scripts/test.sh --sanitize=thread              # TSan, build dir "build-tsan"
#   ./scripts/test.sh --build-dir=DIR -- -R regs     # arguments after -- go to ctest
#
# The last line printed is "N passed, N failed", taken from CTest's summary.
# Exit status: 0 when the build succeeded and every test passed, else 1.
# A build failure does not stop the run: what builds is tested, and tests
# whose program could not be built count as failed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

usage() {
    sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

cc=${CC:-}
sanitize=""
bdir=""
setup=1
jobs=$(nproc 2>/dev/null || echo 2)
ctest_args=()
while [ $# -gt 0 ]; do
    case $1 in
    --cc=*) cc=${1#--cc=} ;;
    --sanitize=*) sanitize=${1#--sanitize=} ;;
    --build-dir=*) bdir=${1#--build-dir=} ;;
    --jobs=*) jobs=${1#--jobs=} ;;
    --no-setup) setup=0 ;;
    -h | --help) usage; exit 0 ;;
    --) shift; ctest_args=("$@"); break ;;
    *) echo "test.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done

case $sanitize in
"") ;;
asan | address | address,undefined | undefined,address) sanitize=address,undefined ;;
ubsan | undefined) sanitize=undefined ;;
tsan | thread) sanitize=thread ;;
*) echo "test.sh: --sanitize takes address,undefined or thread (got '$sanitize')" >&2; exit 2 ;;
esac

if [ -z "$bdir" ]; then
    case $sanitize in
    "") bdir=build ;;
    address,undefined) bdir=build-asan ;;
    undefined) bdir=build-ubsan ;;
    thread) bdir=build-tsan ;;
    esac
fi

if [ "$setup" = 1 ]; then
    "$ROOT/scripts/setup.sh"
fi

# ---- compiler: an existing build dir configured with another one is reconfigured from scratch
cc=${cc:-cc}
cc_path=$(command -v "$cc" || true)
if [ -z "$cc_path" ]; then
    echo "test.sh: compiler '$cc' not found" >&2
    exit 2
fi
if [ -f "$bdir/CMakeCache.txt" ]; then
    old=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$bdir/CMakeCache.txt")
    if [ -n "$old" ] && [ "$(readlink -f "$old")" != "$(readlink -f "$cc_path")" ]; then
        echo "test.sh: $bdir was configured with $old; reconfiguring it for $cc_path"
        rm -rf "$bdir/CMakeCache.txt" "$bdir/CMakeFiles"
    fi
fi

# ---- sanitizer runtime options (the caller's own settings win)
runner=()
if [ -n "$sanitize" ]; then
    case $sanitize in
    *address*)
        # LeakSanitizer does not work everywhere (e.g. under ptrace or in some
        # containers): find out with a program that leaks on purpose.
        leaks=0
        probe=$(mktemp -d)
        printf '#include <stdlib.h>\nvoid *volatile p;\nint main(void){p=malloc(64);p=0;return 0;}\n' >"$probe/leak.c"
        if "$cc_path" -fsanitize=address -g "$probe/leak.c" -o "$probe/leak" 2>/dev/null; then
            out=$(ASAN_OPTIONS=detect_leaks=1 "$probe/leak" 2>&1 || true)
            case $out in *"LeakSanitizer: detected memory leaks"*) leaks=1 ;; esac
        fi
        rm -rf "$probe"
        [ "$leaks" = 1 ] || echo "test.sh: LeakSanitizer does not work here: running with detect_leaks=0"
        export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=$leaks:abort_on_error=0}
        export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
        echo "test.sh: ASAN_OPTIONS=$ASAN_OPTIONS UBSAN_OPTIONS=$UBSAN_OPTIONS"
        ;;
    esac
    case $sanitize in
    undefined)
        export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
        echo "test.sh: UBSAN_OPTIONS=$UBSAN_OPTIONS"
        ;;
    thread)
        export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
        echo "test.sh: TSAN_OPTIONS=$TSAN_OPTIONS"
        # Older TSan runtimes abort ("unexpected memory mapping") on kernels
        # with more mmap randomisation bits; without ASLR they work.
        probe=$(mktemp -d)
        printf 'int main(void){return 0;}\n' >"$probe/t.c"
        if "$cc_path" -fsanitize=thread "$probe/t.c" -o "$probe/t" 2>/dev/null && ! "$probe/t" >/dev/null 2>&1 &&
            setarch "$(uname -m)" -R "$probe/t" >/dev/null 2>&1; then
            echo "test.sh: ThreadSanitizer needs ASLR off here: running the tests under setarch -R"
            runner=(setarch "$(uname -m)" -R)
        fi
        rm -rf "$probe"
        ;;
    esac
fi

# ---- configure and build
echo "test.sh: configuring $bdir (CC=$cc_path${sanitize:+, VTD_SANITIZE=$sanitize})"
CC=$cc_path cmake -S "$ROOT" -B "$bdir" -G Ninja -DVTD_TESTS=ON -DVTD_SANITIZE="$sanitize"
build_ok=1
# -k 0: keep building what can be built, so one broken test file does not hide the others
if ! cmake --build "$bdir" -j "$jobs" -- -k 0; then
    build_ok=0
    echo "test.sh: BUILD FAILED in $bdir; running the tests that were built" >&2
fi

# ---- test
log="$bdir/ctest.log"
set +e
(cd "$bdir" && ${runner[@]+"${runner[@]}"} ctest --output-on-failure -j "$jobs" ${ctest_args[@]+"${ctest_args[@]}"}) 2>&1 |
    tee "$log"
ctest_rc=${PIPESTATUS[0]}
set -e

summary=$(grep -E '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1 || true)
if [ -n "$summary" ]; then
    failed=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$summary")
    total=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\2/' <<<"$summary")
    passed=$((total - failed))
else
    echo "test.sh: no CTest summary found (no tests, or ctest itself failed with status $ctest_rc)" >&2
    passed=0
    failed=0
    total=0
fi

status=0
if [ "$build_ok" = 0 ]; then
    echo "test.sh: the build failed (see above)"
    status=1
fi
if [ -z "$summary" ] || [ "$failed" -ne 0 ] || [ "$ctest_rc" -ne 0 ] || [ "$total" -eq 0 ]; then
    status=1
fi
echo "$passed passed, $failed failed"
exit $status
