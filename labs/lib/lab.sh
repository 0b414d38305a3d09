# lab.sh - what every lab's `check` and `steps.sh` share.  POSIX sh.
#
# Source it with LAB_DIR set to the lab's folder:
#     LAB_DIR=$(cd "$(dirname "$0")" && pwd); . "$LAB_DIR/../lib/lab.sh"
#
# Finding vmsim: $VMSIM if set (a path, or a command name on $PATH), else
# build/vmsim in the repository.  lab_vmsim exits with status 2 and a message
# saying what to do if neither runs.
#
# Running vmsim for reference answers: vm_run ARGS... runs `vmsim run --json
# ARGS` and keeps the one-line JSON report in $VM_JSON; st NAME prints one
# statistic of it.  vm_walk ARGS... runs `vmsim walk ARGS` and keeps the
# count of references in $VM_REFS.  Results are cached under
# $VMSIM_LAB_CACHE (default: $TMPDIR/vmsim-labs-UID), keyed by a checksum of
# the vmsim binary, the arguments and every file an argument names, so that
# checking a class of answers files runs each simulation once.  Set
# VMSIM_LAB_CACHE=off to run every time.
#
# Answers files: one `key = value` per line; `#` starts a comment; blank
# lines are ignored; the last line of a key wins.  Keys are lower case.
#
# Reporting (check scripts): q_num / q_choice / q_text read one answer and
# report MISSING or not-a-number themselves; the caller then calls right or
# wrong "why".  lab_done prints the tally and exits 0 if every answer was
# right, 1 otherwise.  Lines look like
#     right    key = value
#     WRONG    key = value: why it is wrong
#     MISSING  key: what it should hold

LAB_ROOT=$(cd "$LAB_DIR/../.." && pwd)
LAB_NAME=$(basename "$LAB_DIR")

lab_die() {
	printf '%s: %s\n' "$LAB_NAME" "$*" >&2
	exit 2
}

# Resolve $VMSIM to something that runs from any directory.
lab_vmsim() {
	if [ -n "${VMSIM:-}" ]; then
		case $VMSIM in
		/*) ;;
		*/*) VMSIM=$(pwd)/$VMSIM ;;
		*) VMSIM=$(command -v "$VMSIM" || printf '%s' "$VMSIM") ;;
		esac
	else
		VMSIM=$LAB_ROOT/build/vmsim
	fi
	[ -x "$VMSIM" ] || lab_die "cannot run vmsim at '$VMSIM'; build it with scripts/build.sh, or set VMSIM=/path/to/vmsim"
	export VMSIM
	VM_SUM=$(cksum <"$VMSIM")
}

# SMALL=1 shrinks the steps so that the tests run every lab in seconds.
lab_small() { [ "${SMALL:-0}" != 0 ]; }

# ---- running vmsim, with a cache ----

lab_cache_key() {
	{
		printf '%s\n' "$VM_SUM" "$@"
		for lc_arg in "$@"; do
			if [ -f "$lc_arg" ]; then cksum <"$lc_arg"; fi
		done
	} | cksum | tr ' ' '-'
}

# lab_cached KIND ARGS...: stdout of `vmsim KIND ARGS`, from the cache if there.
lab_cached() {
	lc_dir=${VMSIM_LAB_CACHE:-${TMPDIR:-/tmp}/vmsim-labs-$(id -u)}
	if [ "$lc_dir" = off ]; then
		"$VMSIM" "$@"
		return
	fi
	lc_key=$(lab_cache_key "$@")
	if [ -f "$lc_dir/$lc_key" ]; then
		cat "$lc_dir/$lc_key"
		return 0
	fi
	if ! mkdir -p "$lc_dir" 2>/dev/null || [ ! -w "$lc_dir" ]; then
		"$VMSIM" "$@" # no usable cache: run every time
		return
	fi
	"$VMSIM" "$@" >"$lc_dir/$lc_key.$$" || {
		rm -f "$lc_dir/$lc_key.$$"
		return 1
	}
	mv -f "$lc_dir/$lc_key.$$" "$lc_dir/$lc_key"
	cat "$lc_dir/$lc_key"
}

vm_run() {
	VM_JSON=$(lab_cached run --json "$@") || lab_die "vmsim run $* failed"
}

# st NAME: one statistic of the last vm_run (a number; cycles_per_access may
# have a fraction).
st() {
	printf '%s\n' "$VM_JSON" | sed -n "s/.*\"$1\":\([-+0-9.eE]*\).*/\1/p"
}

vm_walk() {
	VM_WALK=$(lab_cached walk "$@") || lab_die "vmsim walk $* failed"
	VM_REFS=$(printf '%s\n' "$VM_WALK" | sed -n 's/^references: //p')
	[ -n "$VM_REFS" ] || lab_die "vmsim walk $* printed no 'references:' line"
}

# calc EXPR: awk arithmetic, printed with up to 6 significant digits;
# calc_int EXPR: rounded to an integer.
calc() { awk "BEGIN { printf \"%.6g\n\", $1 }"; }
calc_int() { awk "BEGIN { printf \"%.0f\n\", $1 }"; }

# ---- reading answers ----

lab_answers() {
	[ $# -ge 1 ] || {
		printf 'usage: %s ANSWERS_FILE\n' "$0" >&2
		exit 2
	}
	ANSWERS=$1
	[ -r "$ANSWERS" ] || lab_die "cannot read the answers file '$ANSWERS'"
	ANSWERS_DIR=$(cd "$(dirname "$ANSWERS")" && pwd)
	N_RIGHT=0
	N_WRONG=0
	N_MISSING=0
}

# ans KEY: the value given for KEY, comment and surrounding blanks removed.
ans() {
	sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" "$ANSWERS" |
		sed 's/[[:space:]]*#.*$//; s/[[:space:]]*$//' | tail -n 1
}

# ---- numbers ----

is_num() {
	awk -v x="$1" 'BEGIN { exit !(x ~ /^[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)?$/) }'
}

# near A B REL: |A - B| <= REL * |B| (REL 0 asks for equality).
near() {
	awk -v a="$1" -v b="$2" -v r="$3" 'BEGIN {
		d = a - b; if (d < 0) d = -d; m = b < 0 ? -b : b
		exit !(d <= r * m + 1e-9) }'
}

# within A B ABS: |A - B| <= ABS.
within() {
	awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t + 1e-9) }'
}

# ---- reporting ----

Q_KEY=
Q_VAL=

right() {
	printf '  right    %s = %s\n' "$Q_KEY" "$Q_VAL"
	N_RIGHT=$((N_RIGHT + 1))
}

wrong() {
	printf '  WRONG    %s = %s: %s\n' "$Q_KEY" "$Q_VAL" "$*"
	N_WRONG=$((N_WRONG + 1))
}

missing() {
	printf '  MISSING  %s: %s\n' "$Q_KEY" "$*"
	N_MISSING=$((N_MISSING + 1))
}

# q_num KEY WHAT: read a numeric answer into Q_VAL (commas and underscores
# between digits are dropped).  Returns 1, having reported it, if the answer
# is missing or not a number.
q_num() {
	Q_KEY=$1
	Q_VAL=$(ans "$1" | tr -d ',_')
	if [ -z "$Q_VAL" ]; then
		missing "no line '$1 = ...'; it should hold $2"
		return 1
	fi
	if ! is_num "$Q_VAL"; then
		wrong "not a number; it should hold $2"
		return 1
	fi
	return 0
}

# q_choice KEY CHOICES: read a multiple-choice answer (one letter of CHOICES,
# e.g. "abcd"), lower-cased, into Q_VAL.
q_choice() {
	Q_KEY=$1
	Q_VAL=$(ans "$1" | tr 'A-Z' 'a-z' | sed 's/^(\(.*\))$/\1/; s/[.)]$//')
	if [ -z "$Q_VAL" ]; then
		missing "no line '$1 = ...'; it should hold one of the letters $2"
		return 1
	fi
	case $Q_VAL in
	[a-z]) case $2 in *"$Q_VAL"*) return 0 ;; esac ;;
	esac
	wrong "not one of the letters $2"
	return 1
}

# q_word KEY WORDS: read a one-word answer (lower-cased) that must be one of
# the blank-separated WORDS.
q_word() {
	Q_KEY=$1
	Q_VAL=$(ans "$1" | tr 'A-Z' 'a-z')
	if [ -z "$Q_VAL" ]; then
		missing "no line '$1 = ...'; it should hold one of: $2"
		return 1
	fi
	for qw_word in $2; do
		[ "$Q_VAL" = "$qw_word" ] && return 0
	done
	wrong "not one of: $2"
	return 1
}

lab_done() {
	printf '%s: %d of %d right' "$LAB_NAME" "$N_RIGHT" $((N_RIGHT + N_WRONG + N_MISSING))
	[ "$N_WRONG" -gt 0 ] && printf ', %d wrong' "$N_WRONG"
	[ "$N_MISSING" -gt 0 ] && printf ', %d missing' "$N_MISSING"
	printf '\n'
	[ "$N_WRONG" -eq 0 ] && [ "$N_MISSING" -eq 0 ]
	exit $?
}

# ---- steps.sh ----

# run CMD...: print the command as the handout shows it, then run it.
run() {
	printf '\n$ %s\n' "$*" | sed "s|$VMSIM|build/vmsim|g; s|$LAB_ROOT/||g"
	"$@"
}
