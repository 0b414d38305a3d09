#!/bin/sh
# overcommit.sh - the overcommit experiment (experiments/overcommit.md): two to
# four VMs whose guest memory totals 1.5x the host's, each serving a Zipf
# key-value load of page-sized items, with the host reclaiming by host
# swapping, by static balloon targets, or by working-set balloon targets.
# Writes results/overcommit/runs.csv: a header, then one row per run with its
# parameters and every statistic summed over the VMs (the vmsim host "total"
# row), plus the slowest VM's cycles.
#
# Environment: VMSIM (default build/vmsim), MODE (nested), HOST_MIB (128),
# OPS (requests per VM, 500000), VMS ("2 3 4"), FILLS ("85 110 mixed": each
# VM's footprint in per cent of its maxmem; mixed: 120 for VMs 1, 3 and 50
# for VMs 2, 4, so that equal static targets fit neither).
set -eu
cd "$(dirname "$0")/.."
VMSIM=${VMSIM:-build/vmsim}
MODE=${MODE:-nested}
HOST_MIB=${HOST_MIB:-128}
OPS=${OPS:-500000}
VMS=${VMS:-"2 3 4"}
FILLS=${FILLS:-"85 110 mixed"}
[ -x "$VMSIM" ] || scripts/build.sh >/dev/null

out=results/overcommit
mkdir -p "$out"
tmp="$out/runs.csv.tmp.$$"
one="$out/run.tmp.$$"
trap 'rm -f "$tmp" "$one"' EXIT INT TERM

run=0
for n in $VMS; do
	maxmem=$((HOST_MIB * 3 / 2 / n))       # the VMs' maxmem totals 1.5x the host
	memory=$((HOST_MIB * 94 / 100 / n))    # static targets share the host less the 6% free reserve
	for fill in $FILLS; do
		for pol in swap balloon:static balloon:auto; do
			reclaim=${pol%%:*}
			balloon=${pol#*:}
			[ "$balloon" = swap ] && balloon=static
			set -- host -m "$MODE" --host-mem "$HOST_MIB" --reclaim "$reclaim" --balloon "$balloon" \
				-s overcommit.interval=100000 --csv
			i=1
			while [ "$i" -le "$n" ]; do
				f=$fill
				[ "$fill" = mixed ] && f=$((i % 2 ? 120 : 50))
				keys=$((maxmem * 256 * f / 100)) # one 4 KiB value per key
				set -- "$@" --vm "kvstore:keys=$keys,ops=$OPS,vsize=4096,seed=$i@$memory/$maxmem"
				i=$((i + 1))
			done
			"$VMSIM" "$@" >"$one"
			run=$((run + 1))
			# Header and the total row carry no quoted fields; VM rows do
			# (their workload), so only their cycles are read, from the end.
			awk -F, -v run="$run" -v n="$n" -v pol="$pol" -v mib="$HOST_MIB" -v maxmem="$maxmem" \
				-v memory="$memory" -v fill="$fill" -v ops="$OPS" -v mode="$MODE" \
				-v first="$run" '
				NR == 1 {
					for (i = 1; i <= NF; i++) col[$i] = i
					from = col["accesses"]
					ncyc = NF - col["cycles"] # the cycles column counted from the end
					if (first == 1) {
						printf "run,mode,vms,policy,host_mib,maxmem_mib,memory_mib,fill_pct,ops"
						for (i = from; i <= NF; i++) printf ",%s", $i
						print ",slowest_vm_cycles"
					}
					next
				}
				$1 == "total" { total = $0; next }
				{ c = $(NF - ncyc) + 0; if (c > slow + 0) slow = c }
				END {
					split(total, t, ",")
					printf "%d,%s,%d,%s,%d,%d,%d,%s,%d", run, mode, n, pol, mib, maxmem, memory, fill, ops
					for (i = from; i in t; i++) printf ",%s", t[i]
					printf ",%.0f\n", slow
				}' "$one" >>"$tmp"
			echo "run $run: $n VMs, footprint $fill (% of maxmem), $pol" >&2
		done
	done
done
mv "$tmp" "$out/runs.csv"
echo "wrote $out/runs.csv ($run runs)" >&2

# The figure's table: per (VMs, footprint), run time of each policy relative to
# host swapping, and host swapping's double-paging events.
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
	{
		k = $c["vms"] " VMs, " ($c["fill_pct"] == "mixed" ? "mixed" : $c["fill_pct"] "%")
		if (!(k in seen)) { seen[k] = 1; order[++n] = k }
		cyc[k, $c["policy"]] = $c["cycles"]
		if ($c["policy"] == "swap") dp[k] = $c["double_paging"]
	}
	END {
		print "# vmsim overcommit: run time relative to host swapping; double paging under host swapping"
		print "scenario swap balloon-static balloon-auto double-paging"
		for (i = 1; i <= n; i++) {
			k = order[i]; s = cyc[k, "swap"]
			printf "\"%s\" 1 %.4f %.4f %d\n", k, cyc[k, "balloon:static"] / s, cyc[k, "balloon:auto"] / s, dp[k]
		}
	}' "$out/runs.csv" >"$out/overcommit.dat"
if command -v gnuplot >/dev/null 2>&1; then
	gnuplot -e "dat='$out/overcommit.dat'; out='$out/overcommit'" results/plots/overcommit.gp &&
		echo "figure: $out/overcommit.png, $out/overcommit.svg" >&2
else
	echo "gnuplot is not installed (apt-get install gnuplot-nox): table in $out/overcommit.dat" >&2
fi
