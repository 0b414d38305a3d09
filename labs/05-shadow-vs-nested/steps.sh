#!/bin/sh
# steps.sh - run lab 5's steps as the handout gives them.  SMALL=1 runs
# smaller workloads (for the tests).
set -eu
LAB_DIR=$(cd "$(dirname "$0")" && pwd)
. "$LAB_DIR/../lib/lab.sh"
lab_vmsim
cd "$LAB_ROOT"
L=labs/05-shadow-vs-nested

if lab_small; then
	C=compile:tasks=32 G1=gups:mb=64,updates=50000 G4=gups:mb=64,updates=200000
else
	C=compile:tasks=512 G1=gups:mb=64,updates=1000000 G4=gups:mb=64,updates=4000000
fi

run $L/modes.sh $C
run "$VMSIM" run -m vtx -w $C
run $L/modes.sh $C vmm.unsync=off
run $L/modes.sh $G1
run $L/modes.sh $G4
run $L/modes.sh $G4 host.page=2m
