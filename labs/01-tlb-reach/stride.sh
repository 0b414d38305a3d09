#!/bin/sh
# stride.sh MACHINE K... - how many pages that share one TLB set fit in it.
#
# For each K, touch K pages 4 MiB apart, 100 times round.  Page numbers
# 1024 apart leave the same remainder modulo any number of sets up to 1024,
# so all K pages compete for one set of the L1 dTLB (and one of the STLB).
# Prints the L1 dTLB and STLB misses per load after the first pass: the
# first pass's loads each miss twice (before and after the page fault).
set -eu
LAB_DIR=$(cd "$(dirname "$0")" && pwd)
. "$LAB_DIR/../lib/lab.sh"
lab_vmsim

[ $# -ge 2 ] || { echo "usage: $0 a|b|c|PROFILE.ini K..." >&2; exit 2; }
case $1 in
a | b | c) ini=$LAB_DIR/machine-$1.ini ;;
*) ini=$1 ;;
esac
shift

printf '%8s %10s %10s\n' K L1d/load STLB/load
for k in "$@"; do
	"$VMSIM" run -c "$ini" -w "stride:pages=$k,stride=4194304,passes=100" |
		awk -v k="$k" '$1 == "loads" { l = $2 } $1 == "tlb_l1d_misses" { m1 = $2 }
		     $1 == "tlb_l2_misses" { m2 = $2 }
		     END { printf "%8d %10.4f %10.4f\n", k, (m1 - 2 * k) / (l - k), (m2 - 2 * k) / (l - k) }'
done
