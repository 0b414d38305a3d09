#!/bin/sh
# pages.sh WORKLOAD [KEY=VALUE...] - run WORKLOAD natively with guest.page =
# 4k, 2m and 1g and print one row per page size:
#   page        largest page the guest kernel may map (where aligned)
#   faults      demand faults (= pages mapped)
#   L1d miss    L1 dTLB misses
#   STLB miss   STLB misses
#   walks       page walks (STLB misses, plus re-walks after faults and to set D)
#   refs/walk   page-table entries read per walk
#   tlb cyc     cycles spent in STLB hits (the "tlb" line under cycles)
#   walk cyc    cycles spent in walks (the "walk" line under cycles)
#   fault cyc   cycles spent in page faults (the "fault" line)
#   cycles      all cycles of the run
# Extra KEY=VALUE arguments become -s overrides (e.g. tlb.l2.entries=512).
set -eu
LAB_DIR=$(cd "$(dirname "$0")" && pwd)
. "$LAB_DIR/../lib/lab.sh"
lab_vmsim

[ $# -ge 1 ] || { echo "usage: $0 WORKLOAD[:k=v,...] [KEY=VALUE...]" >&2; exit 2; }
w=$1
shift
over=
for kv in "$@"; do over="$over -s $kv"; done

printf '%-5s %8s %10s %10s %10s %9s %11s %11s %11s %11s\n' \
	page faults 'L1d miss' 'STLB miss' walks refs/walk 'tlb cyc' 'walk cyc' 'fault cyc' cycles
for p in 4k 2m 1g; do
	# shellcheck disable=SC2086 # $over is a list of -s options
	"$VMSIM" run -w "$w" -s guest.page=$p $over | awk -v p=$p '
		$1 == "page_faults" { f = $2 } $1 == "tlb_l1d_misses" { m1 = $2 }
		$1 == "tlb_l2_misses" { m2 = $2 } $1 == "walks" { w = $2 }
		$1 == "walk_refs" { r = $2 } $1 == "tlb" { ct = $2 } $1 == "walk" { cw = $2 }
		$1 == "fault" { cf = $2 } $1 == "cycles" { c = $2 }
		END { printf "%-5s %8d %10d %10d %10d %9.2f %11d %11d %11d %11d\n",
		             p, f, m1, m2, w, w ? r / w : 0, ct, cw, cf, c }'
done
