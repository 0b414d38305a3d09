#!/bin/sh
# steps.sh - run lab 2's steps as the handout gives them.  SMALL=1 runs
# smaller workloads (for the tests).
set -eu
LAB_DIR=$(cd "$(dirname "$0")" && pwd)
. "$LAB_DIR/../lib/lab.sh"
lab_vmsim
cd "$LAB_ROOT"
L=labs/02-huge-pages

if lab_small; then
	GUPS=gups:mb=1024,updates=20000 BFS=bfs:vertices=16384
else
	GUPS=gups:mb=1024,updates=4000000 BFS=bfs:vertices=1048576
fi

run "$VMSIM" workloads >/dev/null
run "$VMSIM" run -w $GUPS
run $L/pages.sh $GUPS
run $L/pages.sh $BFS
printf '\n$ build/vmsim run -w %s -s guest.page=1g | grep faults_demand\n' $BFS
"$VMSIM" run -w $BFS -s guest.page=1g | grep faults_demand
