#!/bin/sh
# steps.sh - run lab 3's steps as the handout gives them.  SMALL=1 runs the
# ring 20 and 40 times round instead of 1000 and 2000 (for the tests).
set -eu
LAB_DIR=$(cd "$(dirname "$0")" && pwd)
. "$LAB_DIR/../lib/lab.sh"
lab_vmsim
cd "$LAB_ROOT"
L=labs/03-tagged-tlbs

if lab_small; then
	export ROUNDS=20
	R=20 IO=1000
else
	R=1000 IO=100000
fi

run "$VMSIM" run -w ctxswitch:pages=16,rounds=$R
run $L/ring.sh native 16
run $L/ring.sh native 256
run $L/ring.sh native 1024
run $L/ring.sh vtx 16
run "$VMSIM" run -m vtx -w ctxswitch:pages=16,rounds=$R -s tlb.vpid=off
run $L/ring.sh nested 16
run "$VMSIM" run -m nested -w io:iters=$IO -s tlb.vpid=off
run "$VMSIM" run -m nested -w io:iters=$IO -s tlb.vpid=on
