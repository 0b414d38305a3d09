# walk-refs.gp - memory references per TLB miss under nested paging: left
# against the nested TLB's entries, right against the PDE caches' entries
# (guest and host), one line per guest/host page-size pair; dotted lines at
# each pair's count with every translation cache off.
#
# Input: three tables written by 'vmsim plot', named after dat:
#   NAME.dat       first column nested-TLB entries, one column per page pair
#   NAME-pwc.dat   first column PDE-cache entries, the same columns
#   NAME-none.dat  one row: the counts with no caches at all (optional)
# To run it by hand, from the repository root:
#   gnuplot -e "dat='results/walk-refs/walk-refs.dat'; out='results/walk-refs/walk-refs'" results/plots/walk-refs.gp
# Optional variables: caption, title, ylabel.  Writes out.png and out.svg.

if (!exists("dat") || !exists("out")) {
	print "usage: gnuplot -e \"dat='DIR/walk-refs.dat'; out='DIR/walk-refs'\" walk-refs.gp"
	exit status 2
}
if (!exists("caption")) caption = ""
if (!exists("title")) title = "Nested paging: memory references per TLB miss"
if (!exists("ylabel")) ylabel = "references per TLB miss (log scale)"

stem = dat[1:strlen(dat) - 4]
dat_pwc = stem."-pwc.dat"
dat_none = stem."-none.dat"
have_none = system(sprintf("test -r '%s' && echo 1 || echo 0", dat_none)) + 0

set datafile columnheaders
header = system(sprintf("grep -v '^#' '%s' | head -n 1", dat))
nseries = words(header) - 1
pair_color(p) = p eq "4k/4k" ? "#d55e00" : p eq "4k/2m" ? "#e69f00" : p eq "2m/4k" ? "#56b4e9" : \
                p eq "2m/2m" ? "#0072b2" : p eq "1g/1g" ? "#009e73" : p eq "4k/1g" ? "#cc79a7" : "#555555"
pair_point(p) = p eq "4k/4k" ? 7 : p eq "4k/2m" ? 9 : p eq "2m/4k" ? 11 : p eq "2m/2m" ? 5 : 13
none = ""
if (have_none) {
	do for [i=2:nseries+1] {
		stats dat_none using i nooutput
		none = none.sprintf(" %g", STATS_max)
	}
}

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
	set multiplot title title font ",17" layout 1, 2 margins 0.07, 0.85, 0.2, 0.86 spacing 0.06, 0
	set logscale y
	set yrange [0.8:32]
	set ytics ("1" 1, "2" 2, "3" 3, "4" 4, "6" 6, "8" 8, "12" 12, "16" 16, "24" 24) nomirror
	set xtics nomirror
	set border 3
	set grid ytics lc rgb "#dddddd" lw 1
	set label 1 caption at screen 0.01, 0.02 left font ",10" textcolor rgb "#555555"
	unset key
	# The no-cache counts: one dotted line per pair across both panels.
	do for [i=1:words(none)] {
		set arrow 20 + i from graph 0, first word(none, i) + 0 to graph 1, first word(none, i) + 0 \
		    nohead dashtype 3 lc rgb pair_color(word(header, i + 1)) lw 2
	}

	if (have_none) {
		set label 2 "dotted: every translation cache off (the full 2D walk)" \
		    at graph 0.98, first 27.5 right font ",10" textcolor rgb "#555555"
	}
	set title "nested-TLB entries (PDE caches: 32 entries)" font ",13"
	set xlabel "nested-TLB entries (guest-physical -> host-physical)"
	set ylabel ylabel
	plot for [i=2:nseries+1] dat using 0:i:xtic(1) with linespoints \
	     linecolor rgb pair_color(word(header, i)) pointtype pair_point(word(header, i)) \
	     pointsize 1.3 linewidth 2.5

	unset label 2
	set title "paging-structure caches (nested TLB: 16 entries)" font ",13"
	set xlabel "PDE-cache entries, guest and host dimension each"
	unset ylabel
	set format y ""
	set key at screen 0.99, 0.84 right top vertical Left reverse samplen 2 font ",12" \
	    title "guest/host pages" box lc rgb "#cccccc"
	plot for [i=2:nseries+1] dat_pwc using 0:i:xtic(1) with linespoints \
	     title word(header, i) linecolor rgb pair_color(word(header, i)) \
	     pointtype pair_point(word(header, i)) pointsize 1.3 linewidth 2.5, \
	     (have_none ? NaN : NaN) with lines dashtype 3 lc rgb "#555555" lw 2 \
	     title (have_none ? "all caches off" : "")
	unset format
	unset multiplot
	unset output
}
