# heatmap.gp - one heat map per panel: rows of the table (here guest page
# size) up the y axis, its columns (host page size) along x, each cell's value
# printed in it, colour on a log scale (1 = no overhead).
#
# Input: a table written by 'vmsim plot': one block per panel ("# panel:
# NAME" before it), a header row naming the columns, each row starting with
# its own name.  To run it by hand, from the repository root:
#   gnuplot -e "dat='results/pagesize-matrix/pagesize-matrix.dat'; out='results/pagesize-matrix/pagesize-matrix'" results/plots/heatmap.gp
# Optional variables: caption, title, xlabel, ylabel.  Writes out.png, out.svg.

if (!exists("dat") || !exists("out")) {
	print "usage: gnuplot -e \"dat='DIR/NAME.dat'; out='DIR/NAME'\" heatmap.gp"
	exit status 2
}
if (!exists("caption")) caption = ""
if (!exists("title")) title = "Nested paging: run time relative to native, by guest and host page size"
if (!exists("xlabel")) xlabel = "host page size (EPT/NPT leaf)"
if (!exists("ylabel")) ylabel = "guest page size"

set datafile columnheaders
header = system(sprintf("grep -v '^#' '%s' | head -n 1", dat))
ncols = words(header) - 1
panels = system(sprintf("grep '^# panel:' '%s' | cut -c10-", dat))
npanels = words(panels) > 0 ? words(panels) : 1
vmax = 1
nrows = 1
do for [p=1:npanels] {
	do for [j=2:ncols+1] {
		stats dat index (p - 1) using j nooutput
		vmax = STATS_max > vmax ? STATS_max : vmax
		nrows = STATS_records > nrows ? STATS_records : nrows
	}
}
panel_title(p) = p eq "chase" ? "chase: pointer chase over mapped pages (TLB-bound)" : \
                 p eq "gups" ? "gups: first touches of fresh pages (fault-bound)" : p
cell(v) = v != v ? "-" : v >= 100 ? sprintf("%.0f×", v) : v >= 10 ? sprintf("%.1f×", v) : sprintf("%.2f×", v)
# Dark cells get white text.
ink(v) = log(v > 1 ? v : 1) > 0.55 * log(vmax > 1.01 ? vmax : 1.01) ? 0xffffff : 0x202020

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
	set multiplot title title font ",17" layout 1, npanels margins 0.08, 0.88, 0.17, 0.85 spacing 0.08, 0
	set logscale cb
	set cbrange [1:(vmax > 2 ? vmax : 2)]
	set cblabel "run time / native run time (log scale)"
	set palette defined (0 "#fff7ec", 1 "#fdd49e", 2 "#fc8d59", 3 "#d7301f", 4 "#7f0000")
	set xrange [-0.5:ncols - 0.5]
	set yrange [-0.5:nrows - 0.5]
	set xtics () 
	do for [j=1:ncols] { set xtics add (word(header, j + 1) j - 1) }
	set style fill solid 1.0 noborder
	set xlabel xlabel
	set tics scale 0
	set border 0
	set size ratio -1
	set label 1 caption at screen 0.01, 0.02 left font ",10" textcolor rgb "#555555"
	do for [p=1:npanels] {
		set title panel_title(word(panels, p)) font ",13"
		if (p == 1) { set ylabel ylabel } else { unset ylabel }
		if (p == npanels) { set colorbox user origin 0.91, 0.25 size 0.02, 0.5 } else { unset colorbox }
		# One filled box per cell (not 'matrix ... with image': gnuplot reads
		# matrix column headers only from the file's first block).
		plot for [j=2:ncols+1] dat index (p - 1) using (j - 2):0:(0.5):(0.5):(column(j)):ytic(1) \
		         with boxxyerror fillcolor palette notitle, \
		     for [j=2:ncols+1] dat index (p - 1) using (j - 2):0:(cell(column(j))):(ink(column(j))) \
		         with labels font ",15" textcolor rgb variable notitle
	}
	unset multiplot
	unset output
}
