#!/bin/sh
# The main job: one workload under every MMU mode, side by side.
set -eu
cd "$(dirname "$0")/.."
scripts/build.sh >/dev/null
w=${1:-gups:mb=256,updates=2m}
printf '%-8s %14s %12s %12s %10s %12s %12s\n' mode cycles/access L2-TLB-miss walk-refs vm-exits hidden-flt pt-w-traps
for m in native bt vtx nested pv; do
	build/vmsim run -m "$m" -w "$w" --csv | sed 's/"[^"]*"/-/g' | awk -F, -v m="$m" '
		NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		{ printf "%-8s %14.2f %12d %12d %10d %12d %12d\n", m, $col["cycles_per_access"],
			$col["tlb_l2_misses"], $col["walk_refs"], $col["vm_exits"],
			$col["hidden_faults"], $col["pt_write_traps"] }'
done
