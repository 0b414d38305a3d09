#!/bin/sh
# allmodes.sh TRACE.vmt [KEY=VALUE...] - simulate a trace under every MMU
# mode and print one row per mode:
#   mode        native, bt (binary translation + shadow paging), vtx (VT-x +
#               shadow paging), nested (EPT), pv (paravirtual MMU)
#   cycles      all cycles of the run
#   x native    cycles / native cycles
#   STLB miss   STLB misses
#   walks       page walks
#   refs/walk   page-table references per walk (both dimensions under nested)
#   faults      guest page faults
#   exits       VM exits (vtx, nested)
#   traps       guest page-table writes trapped (bt, vtx)
#   hcalls      hypercalls (pv)
#   extra       the cycle category that grew most over native
# Extra KEY=VALUE arguments become -s overrides (e.g. guest.page=2m).
set -eu
LAB_DIR=$(cd "$(dirname "$0")" && pwd)
. "$LAB_DIR/../lib/lab.sh"
lab_vmsim

[ $# -ge 1 ] || { echo "usage: $0 TRACE.vmt [KEY=VALUE...]" >&2; exit 2; }
t=$1
shift
over=
for kv in "$@"; do over="$over -s $kv"; done

# fields MODE: the numbers of one row, then the cycle categories
fields() {
	# shellcheck disable=SC2086 # $over is a list of -s options
	"$VMSIM" run -m "$1" -t "$t" $over | awk '
		$1 == "cycles" { c = $2 } $1 == "tlb_l2_misses" { m = $2 }
		$1 == "walks" { w = $2 } $1 == "walk_refs" { r = $2 }
		$1 == "page_faults" { f = $2 } $1 == "vm_exits" { e = $2 }
		$1 == "pt_write_traps" { p = $2 } $1 == "hypercalls" { h = $2 }
		$1 ~ /^(base|tlb|walk|fault|os|exit|vmm|bt|lock)$/ && NF >= 3 && $3 ~ /%$/ { cat[$1] = $2 }
		END {
			printf "%d %d %d %.2f %d %d %d %d", c, m, w, w ? r / w : 0, f, e, p, h
			n = split("base tlb walk fault os exit vmm bt lock", k, " ")
			for (i = 1; i <= n; i++) printf " %d", cat[k[i]]
			printf "\n"
		}'
}

printf '%-7s %11s %8s %9s %9s %9s %7s %7s %7s %7s  %s\n' mode cycles 'x native' 'STLB miss' walks \
	refs/walk faults exits traps hcalls extra
nat=
for m in native bt vtx nested pv; do
	row=$(fields "$m")
	[ -n "$nat" ] || nat=$row
	echo "$m $row $nat" | awk '{
		n = split("base tlb walk fault os exit vmm bt lock", k, " ")
		best = "-"; most = 0
		for (i = 1; i <= n; i++) { d = $(9 + i) - $(26 + i); if (d > most) { most = d; best = k[i] } }
		printf "%-7s %11d %8.3f %9d %9d %9.2f %7d %7d %7d %7d  %s\n",
		       $1, $2, $2 / $19, $3, $4, $5, $6, $7, $8, $9, best }'
done
