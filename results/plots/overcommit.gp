# overcommit.gp - several VMs on an overcommitted host: run time of each
# reclaim policy relative to host swapping (bars, left axis), and the
# double-paging events host swapping caused (points, right axis).
#
# Input: the table scripts/overcommit.sh writes (scenario, then swap = 1,
# balloon-static, balloon-auto relative to swap, then double-paging).  By hand:
#   gnuplot -e "dat='results/overcommit/overcommit.dat'; out='results/overcommit/overcommit'" results/plots/overcommit.gp
# Optional: caption, title.  Writes out.png, out.svg.

if (!exists("dat") || !exists("out")) {
	print "usage: gnuplot -e \"dat='DIR/overcommit.dat'; out='DIR/overcommit'\" overcommit.gp"
	exit status 2
}
if (!exists("title")) title = "Overcommitted host: ballooning against host swapping"
if (!exists("caption")) caption = "nested, 128 MiB host, VMs' maxmem totals 1.5x the host, kvstore with 4 KiB values | scripts/overcommit.sh"
set datafile columnheaders

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
	set ylabel "run time relative to host swapping"
	set y2label "double-paging events under host swapping"
	set yrange [0:*]
	set y2range [0:*]
	set ytics nomirror
	set y2tics
	set xtics nomirror scale 0 rotate by -20
	set grid ytics lc rgb "#dddddd"
	set border 11
	set key inside top left horizontal samplen 1.5
	set style data histograms
	set style histogram clustered gap 1.5
	set style fill solid 0.9 noborder
	set boxwidth 0.9
	set offsets 0, 0, graph 0.12, 0
	set bmargin 7
	set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead dashtype 2 lc rgb "#4d4d4d" front
	set label 1 caption at screen 0.01, 0.02 left font ",10" textcolor rgb "#555555"
	plot dat using 2:xtic(1) title "host swapping" lc rgb "#d55e00", \
	     '' using 3 title "balloon, static targets" lc rgb "#0072b2", \
	     '' using 4 title "balloon, working-set targets" lc rgb "#009e73", \
	     '' using 0:5 axes x1y2 with points pt 9 ps 1.8 lc rgb "#4d4d4d" title "double paging (right axis)"
	unset arrow 1
	unset label 1
}
