#!/bin/sh
# ring.sh MODE PAGES [KEY=VALUE...] - the ctxswitch ring (4 processes, PAGES
# pages each) under MODE, with PCID and VPID on and off.
#
# One row per setting (native: PCID only; VPID has no meaning without a VM).
# Every column is per *turn*: one process is switched in, sums its PAGES
# pages and passes the token.  Each setting runs ROUNDS (default 1000) and
# 2*ROUNDS times round the ring, and the columns are the difference of the
# two runs divided by the extra turns, so the setup (forks, first touches,
# page faults) cancels exactly.
#   exits       VM exits per turn
#   flushes     TLB flushes per turn
#   STLB miss   STLB misses per turn (each starts a walk)
#   refs/walk   page-table references per walk (guest and host dimensions)
#   walk cyc    cycles spent in walks per turn
#   cycles      all cycles per turn
# Extra KEY=VALUE arguments become -s overrides.
set -eu
LAB_DIR=$(cd "$(dirname "$0")" && pwd)
. "$LAB_DIR/../lib/lab.sh"
lab_vmsim

[ $# -ge 2 ] || { echo "usage: $0 native|bt|vtx|nested|pv PAGES [KEY=VALUE...]" >&2; exit 2; }
mode=$1 pages=$2
shift 2
over=
for kv in "$@"; do over="$over -s $kv"; done
r=${ROUNDS:-1000}
procs=4

# stats ROUNDS PCID VPID: "exits flushes stlb_misses walks refs walk_cycles cycles"
stats() {
	# shellcheck disable=SC2086 # $over is a list of -s options
	"$VMSIM" run -m "$mode" -w "ctxswitch:procs=$procs,pages=$pages,rounds=$1" \
		-s tlb.pcid="$2" -s tlb.vpid="$3" $over | awk '
		$1 == "vm_exits" { e = $2 } $1 == "tlb_flushes" { f = $2 }
		$1 == "tlb_l2_misses" { m = $2 } $1 == "walks" { w = $2 }
		$1 == "walk_refs" { r = $2 } $1 == "nested_walk_refs" { n = $2 }
		$1 == "walk" { cw = $2 } $1 == "cycles" { c = $2 }
		END { print e + 0, f + 0, m + 0, w + 0, r + 0, cw + 0, c + 0 }'
}

printf '%-5s %-5s %7s %8s %10s %9s %9s %9s\n' pcid vpid exits flushes 'STLB miss' refs/walk 'walk cyc' cycles
if [ "$mode" = native ]; then settings="on-on off-on"; else settings="on-on on-off off-on off-off"; fi
for s in $settings; do
	pcid=${s%-*} vpid=${s#*-}
	one=$(stats "$r" "$pcid" "$vpid")
	two=$(stats $((2 * r)) "$pcid" "$vpid")
	[ "$mode" = native ] && vpid=-
	echo "$pcid $vpid $((r * procs)) $one $two" | awk '{
		t = $3
		dw = $14 - $7; dr = $15 - $8
		printf "%-5s %-5s %7.2f %8.2f %10.2f %9.2f %9.1f %9.1f\n", $1, $2,
		       ($11 - $4) / t, ($12 - $5) / t, ($13 - $6) / t, dw ? dr / dw : 0,
		       ($16 - $9) / t, ($17 - $10) / t }'
done
