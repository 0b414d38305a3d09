# overhead.gp - run time relative to native against memory footprint, one
# panel per workload, one line per mode (log-2 footprint axis).
#
# Input: a table written by 'vmsim plot': one block per panel ("# panel:
# NAME" before it), first column the footprint in MiB, then one column per
# mode holding cycles divided by native's.  To run it by hand, from the
# repository root:
#   gnuplot -e "dat='results/overhead-vs-footprint/overhead-vs-footprint.dat'; out='results/overhead-vs-footprint/overhead-vs-footprint'" results/plots/overhead.gp
# Optional variables: caption, title, xlabel, ylabel; nmarks, markN (a TLB
# capacity in 4 KiB pages, drawn at its reach), markNlabel.  Writes out.png
# and out.svg.

if (!exists("dat") || !exists("out")) {
	print "usage: gnuplot -e \"dat='DIR/NAME.dat'; out='DIR/NAME'\" overhead.gp"
	exit status 2
}
if (!exists("caption")) caption = ""
if (!exists("title")) title = "Virtualization overhead vs memory footprint"
if (!exists("xlabel")) xlabel = "memory footprint"
if (!exists("ylabel")) ylabel = "run time relative to native (cycles / native cycles)"
if (!exists("nmarks")) nmarks = 0

set datafile columnheaders
header = system(sprintf("grep -v '^#' '%s' | head -n 1", dat))
nseries = words(header) - 1
panels = system(sprintf("grep '^# panel:' '%s' | cut -c10-", dat))
npanels = words(panels) > 0 ? words(panels) : 1
ymax = 1
do for [i=2:nseries+1] {
	stats dat using i nooutput
	ymax = STATS_max > ymax ? STATS_max : ymax
}
mode_color(m) = m eq "native" ? "#4d4d4d" : m eq "bt" ? "#e69f00" : m eq "vtx" ? "#0072b2" : \
                m eq "nested" ? "#009e73" : m eq "pv" ? "#cc79a7" : "#888888"
mode_name(m) = m eq "native" ? "native" : m eq "bt" ? "binary translation (bt)" : \
               m eq "vtx" ? "VT-x + shadow paging (vtx)" : m eq "nested" ? "EPT/NPT (nested)" : \
               m eq "pv" ? "paravirtual MMU (pv)" : m
mode_point(m) = m eq "native" ? 0 : m eq "bt" ? 9 : m eq "vtx" ? 7 : m eq "nested" ? 5 : 11
panel_title(p) = p eq "gups" ? "gups: random updates, pages touched for the first time" : \
                 p eq "chase" ? "chase: pointer chase over pages already mapped" : p

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
	set multiplot title title font ",17" layout 1, npanels margins 0.07, 0.96, 0.2, 0.86 spacing 0.08, 0
	set logscale x 2
	set xtics ("1 MiB" 1, "4 MiB" 4, "16 MiB" 16, "64 MiB" 64, "256 MiB" 256, "1 GiB" 1024, \
	           "4 GiB" 4096, "16 GiB" 16384, "64 GiB" 65536) nomirror rotate by -30
	set ytics nomirror
	set mytics 2
	set yrange [0.8:ymax * 1.08]
	set xrange [0.8:20000]
	set border 3
	set grid xtics ytics mytics lc rgb "#dddddd" lw 1
	set xlabel xlabel
	set label 1 caption at screen 0.01, 0.02 left font ",10" textcolor rgb "#555555"
	do for [p=1:npanels] {
		set title panel_title(word(panels, p)) font ",13"
		if (p == 1) { set ylabel ylabel } else { unset ylabel }
		# The key and the marks' labels go where the lines leave room: the
		# last panel (chase stays low).
		if (p == npanels) {
			set key inside top right vertical Left reverse samplen 2 font ",12" box lc rgb "#cccccc"
		} else {
			unset key
		}
		unset arrow
		do for [m=1:nmarks] {
			reach = value(sprintf("mark%d", m)) / 256.0
			set arrow 10 + m from reach, graph 0 to reach, graph 1 nohead dashtype 2 lc rgb "#999999"
			if (p == npanels) {
				set label 10 + m sprintf("%s (%g MiB)", value(sprintf("mark%dlabel", m)), reach) \
				    at reach, graph 0.2 left rotate by 90 offset -0.6, 0 font ",10" textcolor rgb "#777777"
			}
		}
		plot for [i=2:nseries+1] dat index (p - 1) using 1:i with linespoints \
		     title mode_name(word(header, i)) linecolor rgb mode_color(word(header, i)) \
		     pointtype mode_point(word(header, i)) pointsize 1.2 linewidth 2
		do for [m=1:nmarks] { unset label 10 + m }
	}
	unset multiplot
	unset output
}
