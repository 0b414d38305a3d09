#!/bin/sh
# Regenerate the seed corpora in tests/fuzz/corpus/ from a built vmsim.
#   tests/fuzz/make_corpus.sh [build/vmsim]
# Seeds are small real inputs that reach each parser's every branch once:
# traces of workloads that emit every event kind, lackey and ChampSim
# records in each container, full and partial INI files, one spec per
# workload.  The fuzzers grow their own corpora from these (in build-fuzz/).
set -eu
cd "$(dirname "$0")"
VMSIM=$(realpath "${1:-../../build/vmsim}")
C=corpus
rm -rf "$C"
mkdir -p "$C/vmt" "$C/lackey" "$C/champsim" "$C/config" "$C/wlparse"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# .vmt: raw files (first byte even), then block payloads for the wrapped
# mode (first byte odd, N as 2 bytes little-endian, the payload).
n=0
for w in stride:pages=8,passes=2 gups:mb=1,updates=16,seed=3 \
	compile:jobs=2,tasks=3,pages=4,text=2,quantum=2 io:iters=3 cr8wr:iters=3 \
	divzero:iters=2 callret:iters=2,depth=2 syscall:iters=2 cr3switch:iters=2 \
	ptemod:iters=2 forkwait:iters=2,pages=2 ctxswitch:procs=2,pages=2,rounds=2 kvstore:keys=64,ops=16 stream:elems=16 \
	chase:pages=8,steps=16; do
	"$VMSIM" trace gen -w "$w" -o "$tmp/t.vmt" 2>/dev/null
	n=$((n + 1))
	{ printf '\000'; cat "$tmp/t.vmt"; } > "$C/vmt/raw-$n-${w%%:*}"
	# The first block: header length 32+W+P, block header 16 bytes, frame C bytes.
	python3 - "$tmp/t.vmt" "$tmp/frame" "$tmp/n" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read()
w, p = struct.unpack_from('<HH', d, 24)
off = 32 + w + p
n, u, c, crc = struct.unpack_from('<IIII', d, off)
open(sys.argv[2], 'wb').write(d[off + 16: off + 16 + c])
open(sys.argv[3], 'w').write(str(n))
PY
	if [ "$(cat "$tmp/n")" -gt 0 ]; then
		zstd -q -d -c "$tmp/frame" > "$tmp/payload"
		python3 -c "import struct,sys; sys.stdout.buffer.write(b'\x01' + struct.pack('<H', int(sys.argv[1]) & 0xffff))" \
			"$(cat "$tmp/n")" > "$C/vmt/block-$n-${w%%:*}"
		cat "$tmp/payload" >> "$C/vmt/block-$n-${w%%:*}"
	fi
done
head -40 ../../traces/samples/small.lackey | "$VMSIM" trace import --from lackey -o "$tmp/l.vmt" 2>/dev/null
{ printf '\000'; cat "$tmp/l.vmt"; } > "$C/vmt/raw-lackey"

# lackey: the sample's opening (banner, loader records) and its end, and
# hand-made lines for M records, big sizes and program output.
head -30 ../../traces/samples/small.lackey > "$C/lackey/head"
tail -30 ../../traces/samples/small.lackey > "$C/lackey/tail"
printf 'I  04000000,3\n L 1ffefff8e8,8\n S 1ffefff8e0,8\n M 0060a010,4\n' > "$C/lackey/each-kind"
printf ' S 7ff000000,512\n L ffffffffffffffff,1\nhello world\n==1== done\n' > "$C/lackey/odd-lines"

# ChampSim input_instr: 64-byte records (ip, branch bytes, 2 store and 4
# load addresses), raw, xz and gzip.
python3 - "$C/champsim/raw" <<'PY'
import struct, sys
recs = b''
for i in range(3):
    ip = 0x400000 + 4 * i
    recs += struct.pack('<QBB', ip, i & 1, 0) + bytes(2) + bytes(4)       # ip, is_branch, taken, regs
    recs += struct.pack('<QQ', 0x7000 + 8 * i if i else 0, 0)              # destination memory
    recs += struct.pack('<QQQQ', 0x9000 + 64 * i, 0, 0x9100 if i == 2 else 0, 0)  # source memory
open(sys.argv[1], 'wb').write(recs)
PY
xz -c "$C/champsim/raw" > "$C/champsim/xz"
gzip -c "$C/champsim/raw" > "$C/champsim/gz"
head -c 100 "$C/champsim/raw" > "$C/champsim/truncated"

# INI: every key as vmsim config prints it; a short profile; one with -s
# overrides after a NUL.
"$VMSIM" config > "$C/config/full.ini"
printf '[machine]\nname = tiny\n[tlb]\nl1d.entries = 16\nl1d.ways = 4\npolicy = plru\n[memory]\npte = fixed\n' > "$C/config/short.ini"
printf '[guest]\npage = 2m\n\000tlb.pcid=off\nhost.page=1g\nvmm.unsync=no\n' > "$C/config/overrides"

# Workload specs: each workload, with decimal, hex and suffixed values.
"$VMSIM" workloads | awk '/^[a-z]/ {print $1}' | while read -r w; do
	printf '%s' "$w" > "$C/wlparse/$w"
done
printf 'gups:mb=64,updates=1m,seed=7' > "$C/wlparse/gups-params"
printf 'stride:pages=0x40,stride=4k,passes=3,write=1' > "$C/wlparse/stride-hex"
printf 'kvstore:keys=1g,theta=0,vsize=8' > "$C/wlparse/kvstore-g"
