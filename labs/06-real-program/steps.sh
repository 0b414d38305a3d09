#!/bin/sh
# steps.sh - run lab 6's steps as the handout gives them, tracing PROG
# (default: gzip -c README.md).  With SMALL=1, or without Valgrind, the
# sample lackey output in traces/samples/ stands in for the tracing step.
# The trace goes to a temporary file, removed at the end.
set -eu
LAB_DIR=$(cd "$(dirname "$0")" && pwd)
. "$LAB_DIR/../lib/lab.sh"
lab_vmsim
cd "$LAB_ROOT"
L=labs/06-real-program
p=${TMPDIR:-/tmp}/vmsim-lab6-$$.vmt
trap 'rm -f "$p"' EXIT

if lab_small || ! command -v valgrind >/dev/null 2>&1; then
	lab_small || echo "steps.sh: valgrind is not installed; using the sample lackey output" >&2
	run "$VMSIM" trace import --from lackey -o "$p" traces/samples/small.lackey
else
	prog=${PROG:-gzip -c README.md}
	printf '\n$ valgrind --tool=lackey --trace-mem=yes --log-fd=3 %s 3>&1 >/dev/null | build/vmsim trace import --from lackey -o p.vmt\n' "$prog"
	# shellcheck disable=SC2086 # $prog is a command line
	valgrind --tool=lackey --trace-mem=yes --log-fd=3 $prog 3>&1 >/dev/null |
		"$VMSIM" trace import --from lackey -o "$p"
fi
run "$VMSIM" trace info "$p"
run $L/allmodes.sh "$p"
run "$VMSIM" run -m nested -t "$p"
run $L/allmodes.sh "$p" guest.page=2m
run $L/allmodes.sh "$p" guest.page=2m host.page=2m
