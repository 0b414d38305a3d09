# tlb-reach.gp - TLB reach: cycles per access (top) and TLB misses per access
# (bottom) against the pages a pointer chase cycles through, with the TLB
# capacities of the profile marked.
#
# Input: a table written by 'vmsim plot': first column the pages, then
# columns named "MODE STATISTIC" (cycles, tlb_l1_misses, tlb_l2_misses), each
# per access.  To run it by hand, from the repository root:
#   gnuplot -e "dat='results/tlb-reach/tlb-reach.dat'; out='results/tlb-reach/tlb-reach'" results/plots/tlb-reach.gp
# Optional variables: caption, title, xlabel, ylabel; nmarks, markN (a TLB
# capacity in pages), markNlabel.  Writes out.png and out.svg.

if (!exists("dat") || !exists("out")) {
	print "usage: gnuplot -e \"dat='DIR/NAME.dat'; out='DIR/NAME'\" tlb-reach.gp"
	exit status 2
}
if (!exists("caption")) caption = ""
if (!exists("title")) title = "TLB reach: a pointer chase over more and more pages"
if (!exists("xlabel")) xlabel = "pages in the chase (4 KiB each, log scale)"
if (!exists("ylabel")) ylabel = "cycles per access"
if (!exists("nmarks")) nmarks = 0

set datafile columnheaders
header = system(sprintf("grep -v '^#' '%s' | head -n 1", dat))
ncols = words(header)
# Column numbers by statistic, as strings of numbers for 'for [k in ...]'.
cyc = ""; l1 = ""; l2 = ""
do for [i=2:ncols] {
	name = word(header, i)
	if (strstrt(name, " cycles") > 0) { cyc = cyc.sprintf(" %d", i) }
	if (strstrt(name, " tlb_l1_misses") > 0) { l1 = l1.sprintf(" %d", i) }
	if (strstrt(name, " tlb_l2_misses") > 0) { l2 = l2.sprintf(" %d", i) }
}
mode_of(name) = name[1:strstrt(name, " ") - 1]
mode_color(m) = m eq "native" ? "#4d4d4d" : m eq "bt" ? "#e69f00" : m eq "vtx" ? "#0072b2" : \
                m eq "nested" ? "#009e73" : m eq "pv" ? "#cc79a7" : "#888888"
mode_name(m) = m eq "native" ? "native (1D walk)" : m eq "nested" ? "EPT/NPT (2D walk)" : \
               m eq "bt" ? "binary translation" : m eq "vtx" ? "VT-x + shadow paging" : \
               m eq "pv" ? "paravirtual MMU" : m

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
	set multiplot title title font ",17"
	set logscale x 2
	set xrange [0.8:*]
	set format x "2^{%L}"
	set xtics 4 nomirror
	set ytics nomirror
	set border 3
	set grid xtics ytics lc rgb "#dddddd" lw 1
	set lmargin at screen 0.08
	set rmargin at screen 0.97
	set label 1 caption at screen 0.01, 0.02 left font ",10" textcolor rgb "#555555"
	do for [m=1:nmarks] {
		x = value(sprintf("mark%d", m))
		set arrow m from x, graph 0 to x, graph 1 nohead dashtype 2 lc rgb "#999999" lw 1.5
	}

	# Top: cycles per access.
	set tmargin at screen 0.89
	set bmargin at screen 0.47
	set format x ""
	unset xlabel
	set ylabel ylabel
	set yrange [0:*]
	set key inside top left vertical Left reverse samplen 2 font ",12"
	do for [m=1:nmarks] {
		x = value(sprintf("mark%d", m))
		set label 10 + m sprintf("%s: %g entries", value(sprintf("mark%dlabel", m)), x) \
		    at x, graph 0.97 right rotate by 90 offset -1.2, 0 font ",11" textcolor rgb "#666666"
	}
	plot for [k in cyc] dat using 1:(column(k + 0)) with linespoints \
	     title mode_name(mode_of(word(header, k + 0))) \
	     linecolor rgb mode_color(mode_of(word(header, k + 0))) pointtype 7 pointsize 1.1 linewidth 2
	do for [m=1:nmarks] { unset label 10 + m }

	# Bottom: TLB misses per access (the same in every mode: one curve each).
	set tmargin at screen 0.44
	set bmargin at screen 0.14
	set format x "2^{%L}"
	set xlabel xlabel
	set ylabel "TLB misses per access"
	set yrange [-0.05:1.1]
	set ytics 0.25
	plot dat using 1:(column(word(l1, 1) + 0)) with linespoints title "L1 dTLB misses" \
	         linecolor rgb "#d55e00" pointtype 9 pointsize 1.1 linewidth 2, \
	     dat using 1:(column(word(l2, 1) + 0)) with linespoints title "L2 TLB misses (page walks)" \
	         linecolor rgb "#56b4e9" pointtype 5 pointsize 1.1 linewidth 2
	unset multiplot
	unset output
}
