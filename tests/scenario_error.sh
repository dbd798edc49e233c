#!/bin/sh
# One failing-input case of `vtd run`:
#     scenario_error.sh VTD DIR NAME
# runs `vtd run -q NAME.vtd` in DIR and checks its exit status (2, or the N
# of a "# exit: N" line in the file) and that its standard error is exactly
# NAME.stderr.
vtd=$1 dir=$2 name=$3
cd "$dir" || exit 2
want=$(sed -n 's/^# exit: \([0-9]\)$/\1/p' "$name.vtd" | head -n 1)
[ -n "$want" ] || want=2
err=$(mktemp) || exit 2
trap 'rm -f "$err"' EXIT
"$vtd" run -q "$name.vtd" >/dev/null 2>"$err"
rc=$?
status=0
if [ "$rc" != "$want" ]; then
    echo "$name: exit status $rc, expected $want"
    status=1
fi
if ! diff -u "$name.stderr" "$err"; then
    echo "$name: standard error differs from $name.stderr (above)"
    status=1
fi
exit $status
