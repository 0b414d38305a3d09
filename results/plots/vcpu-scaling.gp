# vcpu-scaling.gp - run time against vCPUs, one line per mode, every value
# divided by the run on one vCPU under vtx (the table's first row, column
# "vtx"), with the ideal 1/n for each mode's own start drawn dashed.
#
# Input: a table written by 'vmsim plot' (first column the vCPU count, then
# one column per mode: makespan_cycles).  'vmsim plot results/vcpu-scaling'
# runs this script; by hand, from the repository root:
#   gnuplot -e "dat='results/vcpu-scaling/vcpu-scaling.dat'; out='results/vcpu-scaling/vcpu-scaling'" results/plots/vcpu-scaling.gp
# Optional variables: caption, title, xlabel, ylabel.  Writes out.png, out.svg.

if (!exists("dat") || !exists("out")) {
	print "usage: gnuplot -e \"dat='DIR/vcpu-scaling.dat'; out='DIR/vcpu-scaling'\" vcpu-scaling.gp"
	exit status 2
}
if (!exists("caption")) caption = ""
if (!exists("title")) title = "vCPU scaling of a parallel build"
if (!exists("xlabel")) xlabel = "vCPUs"
if (!exists("ylabel")) ylabel = "run time relative to 1 vCPU under vtx"

set datafile columnheaders
header = system(sprintf("grep -v '^#' '%s' | head -n 1", dat))
nseries = words(header) - 1
# The baseline: column "vtx" of the first row (1 vCPU).
vtxcol = 0
do for [i = 2:nseries + 1] { if (word(header, i) eq "vtx") { vtxcol = i } }
if (vtxcol == 0) { print "vcpu-scaling.gp: the table has no vtx column"; exit status 2 }
stats dat using vtxcol every ::0::0 nooutput
base = STATS_min
if (!(base > 0)) { print "vcpu-scaling.gp: the vtx run on the first row has no run time"; exit status 2 }
# Each mode's own one-vCPU run, for its ideal line (run time / n).
do for [i = 2:nseries + 1] {
	stats dat using i every ::0::0 nooutput
	eval sprintf("first%d = STATS_min", i)
}
mode_color(m) = m eq "native" ? "#4d4d4d" : m eq "bt" ? "#e69f00" : m eq "vtx" ? "#0072b2" : \
                m eq "nested" ? "#009e73" : m eq "pv" ? "#cc79a7" : "#888888"
mode_name(m) = m eq "vtx" ? "VT-x, shadow paging (vtx)" : m eq "nested" ? "EPT/NPT (nested)" : \
               m eq "bt" ? "binary translation (bt)" : m eq "pv" ? "paravirtual (pv)" : m

do for [fmt in "png svg"] {
	if (fmt eq "png") {
		if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
			set terminal pngcairo size 1280,720 enhanced font "Sans,13" linewidth 1.5
		} else {
			set terminal png size 1280,720 enhanced font "Sans,13"
		}
	} else {
		set terminal svg size 1280,720 dynamic enhanced font "Sans,13" background rgb "white"
	}
	set output out.".".fmt
	set title title font ",17"
	set xlabel xlabel
	set ylabel ylabel
	set logscale x 2
	set xrange [0.85:*]
	set offsets 0, graph 0.05, 0, 0
	set xtics (1, 2, 4, 8, 16, 32, 64) nomirror
	set ytics nomirror
	set yrange [0:*]
	set grid ytics lc rgb "#dddddd" lw 1
	set border 3
	set key inside top right samplen 2 width 2
	set bmargin 6
	set label 1 caption at screen 0.01, 0.02 left font ",10" textcolor rgb "#555555"
	plot for [i = 2:nseries + 1] dat using 1:(column(i) / base) with linespoints \
	         lw 2 pt 7 ps 1.2 lc rgb mode_color(word(header, i)) title mode_name(word(header, i)), \
	     for [i = 2:nseries + 1] dat using 1:(value(sprintf("first%d", i)) / base / $1) with lines \
	         dashtype 2 lw 1.2 lc rgb mode_color(word(header, i)) \
	         title sprintf("%s, ideal (1/n)", word(header, i))
	unset label 1
}
