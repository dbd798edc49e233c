# Sourced by the tests that write raw physical memory images table by table
# (tests/audit.sh, tests/walk_image.sh), with TEST set to the test's name:
# works in a temporary directory removed on exit, and gives
#   fail MESSAGE...          print "TEST: MESSAGE" and exit 1
#   write_image FILE SIZE    a sparse image of SIZE bytes, filled by the python3
#                            code on stdin, which calls q(addr, qword, ...) to
#                            write little-endian 64-bit words from addr on
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
cd "$d"
fail() { echo "$TEST: $*"; exit 1; }
write_image() {
    python3 -c '
import struct, sys
f = open(sys.argv[1], "wb")
f.truncate(int(sys.argv[2], 0))
def q(addr, *vals):
    f.seek(addr)
    for v in vals:
        f.write(struct.pack("<Q", v))
exec(compile(sys.stdin.read(), "image recipe", "exec"))
f.close()' "$@"
}
