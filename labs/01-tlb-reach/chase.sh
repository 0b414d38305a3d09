#!/bin/sh
# chase.sh MACHINE PAGES... - one row of the chase curve per PAGES value.
#
# MACHINE is a, b or c (machine-a.ini ...), or the path of any profile.
# Each row runs the chase twice, with STEPS and 2*STEPS dependent loads
# (STEPS=100000 unless set), and prints:
#   pages        pages in the random cycle (one 8-byte node per page)
#   L1d/load     L1 dTLB misses per chase load
#   STLB/load    STLB (L2 TLB) misses per chase load, i.e. page walks per load
#   cycles/load  cycles per chase load
# Setting the cycle up stores once into every page, and each of those stores
# misses twice (before and after its page fault), so 2*pages misses belong to
# the setup, not the chase; they are subtracted.  Cycles per load come from
# the difference between the two runs, which cancels the setup (page faults,
# the map call) exactly.
set -eu
LAB_DIR=$(cd "$(dirname "$0")" && pwd)
. "$LAB_DIR/../lib/lab.sh"
lab_vmsim

[ $# -ge 2 ] || { echo "usage: $0 a|b|c|PROFILE.ini PAGES..." >&2; exit 2; }
case $1 in
a | b | c) ini=$LAB_DIR/machine-$1.ini ;;
*) ini=$1 ;;
esac
shift
steps=${STEPS:-100000}

# stats STEPS PAGES: "loads l1d_misses stlb_misses cycles" of one run
stats() {
	"$VMSIM" run -c "$ini" -w "chase:pages=$2,steps=$1" |
		awk '$1 == "loads" { l = $2 } $1 == "tlb_l1d_misses" { m1 = $2 }
		     $1 == "tlb_l2_misses" { m2 = $2 } $1 == "cycles" { c = $2 }
		     END { print l + 0, m1 + 0, m2 + 0, c + 0 }'
}

printf '%8s %10s %10s %12s\n' pages L1d/load STLB/load cycles/load
for p in "$@"; do
	one=$(stats "$steps" "$p")
	two=$(stats $((2 * steps)) "$p")
	echo "$p $one $two" | awk '{
		p = $1; loads = $2; m1 = $3; m2 = $4; c1 = $5; c2 = $9
		printf "%8d %10.4f %10.4f %12.2f\n", p, (m1 - 2 * p) / loads, (m2 - 2 * p) / loads,
		       (c2 - c1) / loads }'
done
