#!/bin/sh
# steps.sh - run lab 1's steps as the handout gives them, for MACHINE (a, b
# or c; default a).  SMALL=1 runs fewer, shorter chases (for the tests).
set -eu
LAB_DIR=$(cd "$(dirname "$0")" && pwd)
. "$LAB_DIR/../lib/lab.sh"
lab_vmsim
cd "$LAB_ROOT"
m=${MACHINE:-a}
L=labs/01-tlb-reach

if lab_small; then
	export STEPS=20000
	run "$VMSIM" run -c $L/machine-$m.ini -w chase:pages=16,steps=20000
	run $L/chase.sh "$m" 16 32 64 128 512 1024 2048
	run $L/chase.sh "$m" 36 40 44
	run $L/stride.sh "$m" 2 4 5 8
	exit 0
fi

# 1. One run
run "$VMSIM" run -c $L/machine-$m.ini -w chase:pages=16,steps=100000
# 2. The coarse curve
run $L/chase.sh "$m" 8 16 32 48 64 96 128 192 256 384 512 768 1024 1536 2048 3072 4096 6144 8192 16384 32768
# 3. Bisect each knee (the handout's example; a student picks their own)
run $L/chase.sh "$m" 36 40 44
# 4. Associativity
run $L/stride.sh "$m" 1 2 3 4 5 6 7 8 12 16 24 32 48 64 96 128
