#!/bin/sh
# The main job: build, run the shipped experiments (experiments/*.ini) on
# every CPU, draw their figures, and say where they are.  About a minute on
# two cores; see "Experiments and figures" in README.md for what each shows.
#
#   scripts/demo.sh                      all six experiments
#   scripts/demo.sh tlb-reach macro      just these
set -eu
cd "$(dirname "$0")/.."
exps=${*:-"nanobench overhead-vs-footprint tlb-reach walk-refs pagesize-matrix macro vcpu-scaling"}
if ! command -v gnuplot >/dev/null 2>&1; then
	echo "demo: gnuplot is not installed: run scripts/setup.sh (or apt-get install gnuplot-nox)" >&2
	exit 2
fi
scripts/build.sh >/dev/null
start=$(date +%s)
for e in $exps; do
	[ -f "experiments/$e.ini" ] || { echo "demo: no experiments/$e.ini" >&2; exit 2; }
	build/vmsim sweep "experiments/$e.ini" --force
	build/vmsim plot "results/$e" >/dev/null
done
# Several VMs on one host run through `vmsim host`, not the sweep.
[ -n "${*:-}" ] || VMSIM=build/vmsim scripts/overcommit.sh
echo
echo "demo: $(($(date +%s) - start)) s of sweeps on $(nproc) CPUs; the figures (PNG and SVG):"
for e in $exps; do
	for f in results/"$e"/*.png; do
		printf '  %s  %s\n' "$f" "${f%.png}.svg"
	done
done
[ -n "${*:-}" ] || printf '  %s  %s\n' results/overcommit/overcommit.png results/overcommit/overcommit.svg
echo "numbers: results/<experiment>/runs.csv (one row per run); redraw: sh results/<experiment>/plot.sh"
