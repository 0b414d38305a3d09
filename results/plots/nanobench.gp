# nanobench.gp - grouped bars: cycles per sensitive operation, one group per
# nanobenchmark, one bar per mode, log scale, each bar labelled.
#
# Input: a table written by 'vmsim plot' (first column the benchmark, then
# one column per mode).  'vmsim plot results/nanobench' runs this script; to
# run it by hand (e.g. after editing it), from the repository root:
#   gnuplot -e "dat='results/nanobench/nanobench.dat'; out='results/nanobench/nanobench'" results/plots/nanobench.gp
# Optional variables: caption, title, xlabel, ylabel.  Writes out.png, out.svg.

if (!exists("dat") || !exists("out")) {
	print "usage: gnuplot -e \"dat='DIR/nanobench.dat'; out='DIR/nanobench'\" nanobench.gp"
	exit status 2
}
if (!exists("caption")) caption = ""
if (!exists("title")) title = "Cost of one sensitive operation: native, binary translation, VT-x"
if (!exists("xlabel")) xlabel = "nanobenchmark (one operation each)"
if (!exists("ylabel")) ylabel = "cycles per operation (log scale)"

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
	set logscale y
	set yrange [10:*]
	set format y "10^{%L}"
	set grid ytics mytics lc rgb "#dddddd" lw 1
	set border 3
	set xtics nomirror scale 0
	set ytics nomirror
	set key inside top left horizontal reverse Left samplen 1.5 width 2
	set xrange [-0.6:nrows - 0.4]
	set offsets 0, 0, graph 0.08, 0
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
	     for [i=2:nseries+1] dat using ($0 + offset(i-1)):(column(i) * 1.12):(sprintf("%.0f", column(i))) \
	         with labels rotate by 90 left font ",9" textcolor rgb "#333333" notitle
	unset output
}
