#!/bin/sh
# modes.sh WORKLOAD [KEY=VALUE...] - run WORKLOAD under native, vtx (shadow
# paging) and nested (EPT) and print one row per mode:
#   mode        MMU mode
#   cycles      all cycles of the run
#   x native    cycles / native cycles (the virtualization slowdown)
#   exits       VM exits (vtx, nested)
#   pt traps    guest page-table writes the VMM trapped (shadow paging)
#   hidden      hidden page faults: shadow misses the VMM filled in (shadow)
#   refs/walk   page-table references per walk, both dimensions
#   host refs   of which in the host (EPT) dimension (nested)
#   walk cyc    cycles in page walks
#   exit cyc    cycles in VM exit/entry transitions
#   vmm cyc     cycles in VMM handlers (shadow-table upkeep, host allocation)
# MODES="native bt vtx nested pv" chooses other modes, CONFIG=FILE.ini
# another machine profile; extra KEY=VALUE arguments become -s overrides
# (e.g. vmm.unsync=off).
set -eu
LAB_DIR=$(cd "$(dirname "$0")" && pwd)
. "$LAB_DIR/../lib/lab.sh"
lab_vmsim

[ $# -ge 1 ] || { echo "usage: $0 WORKLOAD[:k=v,...] [KEY=VALUE...]" >&2; exit 2; }
w=$1
shift
over=
[ -z "${CONFIG:-}" ] || over="-c $CONFIG"
for kv in "$@"; do over="$over -s $kv"; done

printf '%-7s %12s %8s %8s %8s %8s %9s %9s %11s %11s %11s\n' mode cycles 'x native' exits \
	'pt traps' hidden refs/walk 'host refs' 'walk cyc' 'exit cyc' 'vmm cyc'
base=
for m in ${MODES:-native vtx nested}; do
	# shellcheck disable=SC2086 # $over is a list of options
	row=$("$VMSIM" run -m "$m" -w "$w" $over | awk '
		$1 == "cycles" { c = $2 } $1 == "vm_exits" { e = $2 }
		$1 == "pt_write_traps" { t = $2 } $1 == "hidden_faults" { h = $2 }
		$1 == "walks" { w = $2 } $1 == "walk_refs" { r = $2 }
		$1 == "nested_walk_refs" { n = $2 } $1 == "walk" { cw = $2 }
		$1 == "exit" { ce = $2 } $1 == "vmm" { cv = $2 }
		END { print c + 0, e + 0, t + 0, h + 0, w ? r / w : 0, n + 0, cw + 0, ce + 0, cv + 0 }')
	[ -n "$base" ] || base=${row%% *}
	echo "$m $base $row" | awk '{
		printf "%-7s %12d %8.3f %8d %8d %8d %9.2f %9d %11d %11d %11d\n",
		       $1, $3, $3 / $2, $4, $5, $6, $7, $8, $9, $10, $11 }'
done
