# macro.gp - grouped bars: run time relative to native, one group per
# workload, one bar per mode, each bar labelled; a line marks native (1).
#
# Input: a table written by 'vmsim plot' (first column the workload, then
# one column per mode, each divided by native).  'vmsim plot results/macro'
# runs this script; to run it by hand, from the repository root:
#   gnuplot -e "dat='results/macro/macro.dat'; out='results/macro/macro'" results/plots/macro.gp
# Optional variables: caption, title, xlabel, ylabel.  Writes out.png, out.svg.

if (!exists("dat") || !exists("out")) {
	print "usage: gnuplot -e \"dat='DIR/macro.dat'; out='DIR/macro'\" macro.gp"
	exit status 2
}
if (!exists("caption")) caption = ""
if (!exists("title")) title = "Application-like workloads: software MMU vs hardware MMU"
if (!exists("xlabel")) xlabel = "workload (measured phase)"
if (!exists("ylabel")) ylabel = "run time relative to native"

# The table's header names the modes; colours follow the mode, not the order.
set datafile columnheaders
stats dat using 2 nooutput
nrows = STATS_records
header = system(sprintf("grep -v '^#' '%s' | head -n 1", dat))
nseries = words(header) - 1
mode_color(m) = m eq "native" ? "#4d4d4d" : m eq "bt" ? "#e69f00" : m eq "vtx" ? "#0072b2" : \
                m eq "nested" ? "#009e73" : m eq "pv" ? "#cc79a7" : "#888888"
mode_name(m) = m eq "native" ? "native" : m eq "bt" ? "binary translation (bt)" : \
               m eq "vtx" ? "VT-x, shadow paging (vtx)" : m eq "nested" ? "EPT/NPT (nested)" : \
               m eq "pv" ? "paravirtual (pv)" : m

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
	set yrange [0:*]
	set grid ytics lc rgb "#dddddd" lw 1
	set border 3
	set xtics nomirror scale 0
	set ytics nomirror
	set key inside top left horizontal reverse Left samplen 1.5 width 2
	set xrange [-0.6:nrows - 0.4]
	set offsets 0, 0, graph 0.15, 0
	set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead dashtype 2 lc rgb "#4d4d4d" lw 1.5 front
	set style data histograms
	set style histogram clustered gap 1.2
	set style fill solid 0.9 noborder
	set boxwidth 0.95
	set bmargin 6
	set label 1 caption at screen 0.01, 0.02 left font ",10" textcolor rgb "#555555"

	# Bar i of group g sits at g + (i - (n+1)/2) / (n + gap).
	offset(i) = (i - (nseries + 1) / 2.0) / (nseries + 1.2)
	plot for [i=2:nseries+1] dat using i:xtic(1) title mode_name(word(header, i)) \
	         linecolor rgb mode_color(word(header, i)), \
	     for [i=2:nseries+1] dat using ($0 + offset(i-1)):(column(i) + 0.04):(sprintf("%.2f", column(i))) \
	         with labels rotate by 90 left font ",9" textcolor rgb "#333333" notitle
	unset output
}
