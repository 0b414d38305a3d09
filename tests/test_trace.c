/* test_trace.c - the .vmt writer and reader, and `vmsim trace` through the binary. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "testlib.h"
#include "traces/vmt.h"
#include "workloads/wl.h"

static void setup(void) { tl_mkdtemp("test_trace"); }
static void teardown(void) { tl_rmtemp(); }

static struct vm_event ev(uint8_t kind, uint8_t op, uint8_t size, uint8_t vcpu, uint32_t pid,
			  uint64_t addr, uint64_t arg)
{
	struct vm_event e;
	memset(&e, 0, sizeof e);
	e.kind = kind;
	e.op = op;
	e.size = size;
	e.vcpu = vcpu;
	e.pid = pid;
	e.addr = addr;
	e.arg = arg;
	return e;
}

/* Every kind, every access mode the encoder has, and the extremes of every field. */
static size_t build_events(struct vm_event *e)
{
	size_t n = 0;
	e[n++] = ev(EV_MAP, VM_PROT_R | VM_PROT_W | VM_PROT_X, 0, 0, 1, 0x100000000000ull, 1ull << 30);
	for (int i = 0; i < 10; i++) /* a stride: REPEAT */
		e[n++] = ev(EV_ACCESS, EV_LOAD, 8, 0, 1, 0x100000000000ull + 4096u * (unsigned)i, 0);
	for (int i = 0; i < 5; i++) /* sequential fetches of varying sizes: SEQ */
		e[n++] = ev(EV_ACCESS, EV_FETCH, (uint8_t)(1 + i), 0, 1, 0x400000u + 3u * (unsigned)i, 0);
	e[n++] = ev(EV_ACCESS, EV_STORE, 8, 0, 1, 0x400000, 0);  /* SAME */
	e[n++] = ev(EV_ACCESS, EV_STORE, 4, 0, 1, 0x400003, 0);  /* DOP, unscaled */
	e[n++] = ev(EV_ACCESS, EV_LOAD, 255, 0, 1, UINT64_MAX, 0);
	e[n++] = ev(EV_ACCESS, EV_LOAD, 1, 0, 1, 0, 0);
	e[n++] = ev(EV_ACCESS, EV_STORE, 0, 0, 1, 0x8000000000000000ull, 0);
	e[n++] = ev(EV_ACCESS, EV_FETCH, 16, 0, 1, 0x7fffffffffffffffull, 0);
	e[n++] = ev(EV_ACCESS, 3, 8, 0, 1, 0x1234, 0);          /* op the compact form can't hold */
	e[n++] = ev(EV_ACCESS, 255, 255, 0, 1, UINT64_MAX, UINT64_MAX);
	e[n++] = ev(EV_ACCESS, EV_LOAD, 8, 0, 1, 0x5000, 7);    /* non-zero arg */
	e[n++] = ev(EV_SWITCH, 0, 0, 3, 2, 0, 0);
	e[n++] = ev(EV_ACCESS, EV_LOAD, 8, 3, 2, 0x5008, 0);
	e[n++] = ev(EV_UNMAP, 0, 0, 255, UINT32_MAX, 0xfffffffffffff000ull, 4096);
	e[n++] = ev(EV_PROTECT, VM_PROT_R, 0, 255, UINT32_MAX, 0x200000, 0x200000);
	e[n++] = ev(EV_FORK, 0, 0, 0, 1, 0, 77);
	e[n++] = ev(EV_EXIT, 0, 0, 0, 77, 0, 0);
	e[n++] = ev(EV_SYSCALL, 0, 0, 1, 1, 0, 231);
	e[n++] = ev(EV_IO, EV_IO_IN, 1, 1, 1, 0, 0x3f8);
	e[n++] = ev(EV_IO, EV_IO_OUT, 4, 1, 1, 0, 0xcf8);
	e[n++] = ev(EV_CR8, 0, 0, 1, 1, 0, 15);
	e[n++] = ev(EV_EXCEPTION, 0, 0, 1, 1, 0, 0);
	e[n++] = ev(EV_EXCEPTION, 0, 0, 1, 1, 0, 14);
	e[n++] = ev(EV_CALLRET, EV_CALL, 0, 1, 1, 0x401000, 0x400ff0);
	e[n++] = ev(EV_CALLRET, EV_RET, 0, 1, 1, 0x400ff5, 0);
	e[n++] = ev(EV_PHASE, 0, 0, 1, 1, 0, UINT64_MAX);
	e[n++] = ev(EV_PHASE, 255, 255, 255, UINT32_MAX, UINT64_MAX, UINT64_MAX);
	for (int i = 0; i < 20; i++) /* a random-ish stream: DOP/DANY, scaled and not */
		e[n++] = ev(EV_ACCESS, (uint8_t)(i % 3), 8, 0, 1,
			    0x200000000000ull + ((uint64_t)i * 0x9e3779b97f4a7c15ull >> 38) * (i & 1 ? 8 : 1),
			    0);
	e[n++] = ev(EV_ACCESS, EV_LOAD, 8, 0, 0, 0, 0); /* back to the initial context */
	return n;
}

static void write_events(const char *path, const struct vm_event *e, size_t n, size_t chunk)
{
	struct vmerr err = {{0}};
	struct vmt_meta meta = {.flags = 0x5a, .seed = UINT64_MAX};
	strcpy(meta.workload, "hand");
	strcpy(meta.params, "a=1,b=2");
	struct vmt_writer *w = vmt_writer_open(path, &meta, &err);
	cr_assert_not_null(w, "%s", err.msg);
	for (size_t i = 0; i < n; i += chunk) {
		size_t k = n - i < chunk ? n - i : chunk;
		cr_assert_eq(vmt_write(w, e + i, k, &err), 0, "%s", err.msg);
	}
	cr_assert_eq(vmt_writer_records(w), n);
	cr_assert_eq(vmt_writer_close(w, &err), 0, "%s", err.msg);
}

/* Read the whole file with batches of cap; returns count, err set on failure. */
static long read_all(const char *path, struct vm_event *out, size_t max, size_t cap,
		     struct vmt_meta *meta, struct vmerr *err)
{
	struct vmt_reader *r = vmt_reader_open(path, meta, err);
	if (!r)
		return VM_EINPUT;
	size_t n = 0;
	long got;
	while ((got = vmt_read(r, out + n, (max - n) < cap ? (max - n) : cap, err)) > 0)
		n += (size_t)got;
	vmt_reader_close(r);
	return got < 0 ? got : (long)n;
}

static void assert_same(const struct vm_event *a, const struct vm_event *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char x[128], y[128];
		ev_format(&a[i], x, sizeof x);
		ev_format(&b[i], y, sizeof y);
		cr_assert(memcmp(&a[i], &b[i], sizeof a[i]) == 0,
			  "event %zu: wrote '%s' (arg %" PRIu64 "), read '%s' (arg %" PRIu64 ")", i, x,
			  a[i].arg, y, b[i].arg);
	}
}

TestSuite(trace, .init = setup, .fini = teardown);

Test(trace, every_kind_round_trips)
{
	struct vm_event in[128], out[130];
	size_t n = build_events(in);
	const char *p = tpath("k.vmt");
	write_events(p, in, n, 5);
	for (size_t cap = 1; cap <= 64; cap *= 4) {
		struct vmt_meta meta;
		struct vmerr err = {{0}};
		long got = read_all(p, out, VM_ARRAY_SIZE(out), cap, &meta, &err);
		cr_assert_eq(got, (long)n, "cap %zu: %ld (%s)", cap, got, err.msg);
		assert_same(in, out, n);
		cr_assert_eq(meta.version, 1);
		cr_assert_eq(meta.flags, 0x5a);
		cr_assert_eq(meta.seed, UINT64_MAX);
		cr_assert_str_eq(meta.workload, "hand");
		cr_assert_str_eq(meta.params, "a=1,b=2");
	}
}

Test(trace, unknown_kind_is_refused_and_leaves_no_file)
{
	struct vmerr err = {{0}};
	struct vmt_meta meta = {0};
	const char *p = tpath("bad.vmt");
	struct vmt_writer *w = vmt_writer_open(p, &meta, &err);
	cr_assert_not_null(w);
	struct vm_event e = ev(EV_KIND_COUNT, 0, 0, 0, 1, 0, 0);
	cr_assert_eq(vmt_write(w, &e, 1, &err), VM_EINPUT);
	cr_assert(strstr(err.msg, "unknown kind 13"), "%s", err.msg);
	cr_assert_lt(vmt_writer_close(w, &err), 0);
	cr_assert_neq(access(p, F_OK), 0);
}

/* A generator that makes many blocks with every access mode. */
static void fill_mixed(struct vm_event *e, size_t n)
{
	uint64_t s = 42;
	for (size_t i = 0; i < n; i++) {
		uint64_t r = wl_rand(&s);
		e[i] = ev(EV_ACCESS, (uint8_t)(r % 3), (uint8_t)(1u << (r >> 8) % 4), (uint8_t)((r >> 20) % 2 ? 0 : 1),
			  (uint32_t)(1 + (r >> 30) % 2), 0x1000 + (r >> 12) % 4096 * ((r >> 40) % 2 ? 8 : 1), 0);
		if ((r >> 50) % 1000 == 0)
			e[i] = ev((uint8_t)((r >> 24) % EV_KIND_COUNT), (uint8_t)r, (uint8_t)(r >> 8), 0, 1, r, ~r);
	}
}

Test(trace, many_blocks_round_trip)
{
	size_t n = 3 * 65536 + 17;
	struct vm_event *in = malloc(n * sizeof *in), *out = malloc(n * sizeof *out);
	fill_mixed(in, n);
	const char *p = tpath("m.vmt");
	write_events(p, in, n, 10000);
	struct vmt_meta meta;
	struct vmerr err = {{0}};
	cr_assert_eq(read_all(p, out, n, 4096, &meta, &err), (long)n, "%s", err.msg);
	assert_same(in, out, n);
	struct vmt_reader *r = vmt_reader_open(p, &meta, &err);
	while (vmt_read(r, out, n, &err) > 0)
		;
	struct vmt_stats st;
	vmt_reader_stats(r, &st);
	vmt_reader_close(r);
	cr_assert_eq(st.blocks, 4);
	struct stat sb;
	cr_assert_eq(stat(p, &sb), 0);
	cr_assert_eq(st.bytes, (uint64_t)sb.st_size);
	free(in);
	free(out);
}

struct collect {
	struct vm_event *ev;
	size_t n, cap;
};

static int collect_flush(void *arg, const struct vm_event *ev, size_t n)
{
	struct collect *c = arg;
	cr_assert_leq(c->n + n, c->cap);
	memcpy(c->ev + c->n, ev, n * sizeof *ev);
	c->n += n;
	return 0;
}

Test(trace, workload_stream_round_trips)
{
	const struct wl_desc *d;
	uint64_t p[WL_MAX_PARAMS + 1];
	struct vmerr err = {{0}};
	cr_assert_eq(wl_parse("gups:mb=1,updates=50000,seed=9", &d, p, &err), 0, "%s", err.msg);
	size_t cap = 100001;
	struct collect c = {.ev = malloc(cap * sizeof(struct vm_event)), .cap = cap};
	struct vm_event buf[1000];
	struct ev_sink sink = {.buf = buf, .cap = 1000, .flush = collect_flush, .arg = &c};
	cr_assert_eq(wl_generate(d, p, &sink), 0);
	cr_assert_eq(c.n, 100001); /* one map, a load and a store per update */

	const char *path = tpath("g.vmt");
	struct vmt_meta meta = {.seed = 9};
	strcpy(meta.workload, "gups");
	struct vmt_writer *w = vmt_writer_open(path, &meta, &err);
	cr_assert_not_null(w);
	struct ev_sink ws = {.buf = buf, .cap = 1000, .flush = vmt_sink_flush, .arg = w};
	cr_assert_eq(wl_generate(d, p, &ws), 0);
	cr_assert_eq(vmt_writer_close(w, &err), 0, "%s", err.msg);

	struct vm_event *out = malloc(cap * sizeof *out);
	cr_assert_eq(read_all(path, out, cap, 777, &meta, &err), (long)c.n, "%s", err.msg);
	assert_same(c.ev, out, c.n);
	free(out);
	free(c.ev);
}

Test(trace, abort_leaves_nothing)
{
	struct vmerr err = {{0}};
	struct vmt_meta meta = {0};
	const char *p = tpath("a.vmt");
	struct vmt_writer *w = vmt_writer_open(p, &meta, &err);
	cr_assert_not_null(w);
	struct vm_event e[100];
	fill_mixed(e, 100);
	cr_assert_eq(vmt_write(w, e, 100, &err), 0);
	cr_assert_eq(vmt_writer_flush(w, &err), 0);
	vmt_writer_abort(w);
	cr_assert_neq(access(p, F_OK), 0);
	char cmd[600];
	snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s')\"", tl_tmpdir);
	cr_assert_eq(system(cmd), 0, "the writer left a temporary file in %s", tl_tmpdir);
}

Test(trace, unwritable_path_is_an_error)
{
	struct vmerr err = {{0}};
	struct vmt_meta meta = {0};
	cr_assert_null(vmt_writer_open(tpath("no/such/dir.vmt"), &meta, &err));
	cr_assert(strstr(err.msg, "cannot create"), "%s", err.msg);
}

/* ---- corruption */

static size_t slurp(const char *p, uint8_t **buf)
{
	FILE *f = fopen(p, "rb");
	cr_assert_not_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	rewind(f);
	*buf = malloc((size_t)n + 1);
	cr_assert_eq(fread(*buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return (size_t)n;
}

static void spit(const char *p, const uint8_t *buf, size_t n)
{
	FILE *f = fopen(p, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(buf, 1, n, f), n);
	fclose(f);
}

/* Read path and expect VM_EINPUT with "PATH: offset OFF: ...WHAT..." */
static void expect_bad(const char *path, long off, const char *what)
{
	struct vm_event out[256];
	struct vmt_meta meta;
	struct vmerr err = {{0}};
	long got = read_all(path, out, 256, 256, &meta, &err);
	cr_assert_eq(got, VM_EINPUT, "%s: read %ld events, expected an error containing '%s'", path,
		     got, what);
	char want[600];
	snprintf(want, sizeof want, "%s: offset ", path);
	cr_assert(strncmp(err.msg, want, strlen(want)) == 0, "message '%s'", err.msg);
	if (off >= 0) {
		snprintf(want, sizeof want, "%s: offset %ld: ", path, off);
		cr_assert(strncmp(err.msg, want, strlen(want)) == 0, "message '%s', wanted offset %ld",
			  err.msg, off);
	}
	if (what)
		cr_assert(strstr(err.msg, what), "message '%s' lacks '%s'", err.msg, what);
}

/* Header of a small hand trace: 32 + strlen("hand") + strlen("a=1,b=2") bytes. */
#define HAND_HEADER (32 + 4 + 7)

Test(trace, wrong_magic)
{
	struct vm_event in[128];
	size_t n = build_events(in);
	const char *p = tpath("k.vmt");
	write_events(p, in, n, n);
	uint8_t *b;
	size_t len = slurp(p, &b);
	b[1] = 'X';
	spit(p, b, len);
	expect_bad(p, 0, "wrong magic");
	spit(p, (const uint8_t *)"hello world, this is not a trace at all\n", 40);
	expect_bad(p, 0, "wrong magic");
	spit(p, b, 0);
	expect_bad(p, 0, "wrong magic");
	free(b);
}

Test(trace, unsupported_version)
{
	struct vm_event in[128];
	size_t n = build_events(in);
	const char *p = tpath("k.vmt");
	write_events(p, in, n, n);
	uint8_t *b;
	size_t len = slurp(p, &b);
	b[8] = 2;
	spit(p, b, len);
	expect_bad(p, 8, "unsupported version 2");
	free(b);
}

Test(trace, every_truncation_is_an_error)
{
	struct vm_event in[128];
	size_t n = build_events(in);
	const char *p = tpath("k.vmt"), *q = tpath("t.vmt");
	write_events(p, in, n, n);
	uint8_t *b;
	size_t len = slurp(p, &b);
	for (size_t cut = 0; cut < len; cut++) {
		spit(q, b, cut);
		expect_bad(q, -1, NULL);
	}
	/* Cut exactly before the end marker: the blocks are whole, the marker is missing. */
	spit(q, b, len - 16);
	expect_bad(q, (long)len - 16, "missing end marker");
	spit(q, b, HAND_HEADER + 10);
	expect_bad(q, HAND_HEADER, "truncated block header");
	spit(q, b, HAND_HEADER + 20);
	expect_bad(q, HAND_HEADER, "truncated block");
	spit(q, b, 20);
	expect_bad(q, 20, "truncated header");
	free(b);
}

Test(trace, every_flipped_byte_is_an_error)
{
	struct vm_event in[128];
	size_t n = build_events(in);
	const char *p = tpath("k.vmt"), *q = tpath("f.vmt");
	write_events(p, in, n, n);
	uint8_t *b;
	size_t len = slurp(p, &b);
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit += 3) {
			b[i] ^= (uint8_t)(1u << bit);
			spit(q, b, len);
			expect_bad(q, -1, NULL);
			b[i] ^= (uint8_t)(1u << bit);
		}
	}
	/* A flipped payload byte: the block's checksum, at the block's offset. */
	b[HAND_HEADER + 20] ^= 0x40;
	spit(q, b, len);
	expect_bad(q, HAND_HEADER, "block checksum mismatch");
	b[HAND_HEADER + 20] ^= 0x40;
	/* Extra bytes after the end marker. */
	uint8_t *c = malloc(len + 1);
	memcpy(c, b, len);
	c[len] = 0;
	spit(q, c, len + 1);
	expect_bad(q, (long)len, "after the end marker");
	free(c);
	free(b);
}

/* A file with the hand header and one block holding payload[] for nrec events,
 * with a valid checksum: what only the record decoder can reject. */
static void craft(const char *path, const uint8_t *payload, size_t plen, uint32_t nrec,
		  uint32_t usize_claim)
{
	const char *tmp = tpath("empty.vmt");
	write_events(tmp, NULL, 0, 1);
	uint8_t *hdr;
	size_t hl = slurp(tmp, &hdr);
	cr_assert_eq(hl, HAND_HEADER + 16);
	size_t cap = ZSTD_compressBound(plen);
	uint8_t *c = malloc(cap);
	size_t cl = ZSTD_compress(c, cap, payload, plen, 3);
	cr_assert(!ZSTD_isError(cl));
	uint8_t bh[16];
	uint32_t f[3] = {nrec, usize_claim, (uint32_t)cl};
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 4; j++)
			bh[4 * i + j] = (uint8_t)(f[i] >> (8 * j));
	uLong crc = crc32(crc32(0, bh, 12), c, (uInt)cl);
	for (int j = 0; j < 4; j++)
		bh[12 + j] = (uint8_t)(crc >> (8 * j));
	FILE *o = fopen(path, "wb");
	fwrite(hdr, 1, HAND_HEADER, o);
	fwrite(bh, 1, 16, o);
	fwrite(c, 1, cl, o);
	fwrite(hdr + HAND_HEADER, 1, 16, o); /* end marker */
	fclose(o);
	free(c);
	free(hdr);
}

Test(trace, bad_records_are_errors)
{
	const char *p = tpath("c.vmt");
	/* A valid crafted block first, to check craft() itself. */
	const uint8_t ok[] = {0x00, 0xcc, 0x05};
	craft(p, ok, sizeof ok, 2, sizeof ok);
	struct vm_event out[4];
	struct vmt_meta meta;
	struct vmerr err = {{0}};
	cr_assert_eq(read_all(p, out, 4, 4, &meta, &err), 2, "%s", err.msg);
	cr_assert_eq(out[1].kind, EV_PHASE);
	cr_assert_eq(out[1].arg, 5);

	const uint8_t k13[] = {0x8d};
	craft(p, k13, 1, 1, 1);
	expect_bad(p, HAND_HEADER, "unknown kind");
	const uint8_t op3[] = {0x03};
	craft(p, op3, 1, 1, 1);
	expect_bad(p, HAND_HEADER, "bad access record");
	const uint8_t mode5[] = {0x14};
	craft(p, mode5, 1, 1, 1);
	expect_bad(p, HAND_HEADER, "bad access record");
	const uint8_t ovf[] = {0x0c, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
	craft(p, ovf, sizeof ovf, 1, sizeof ovf);
	expect_bad(p, HAND_HEADER, "varint longer than 64 bits");
	const uint8_t past[] = {0x0c, 0x80};
	craft(p, past, sizeof past, 1, sizeof past);
	expect_bad(p, HAND_HEADER, "runs past the end");
	const uint8_t pid[] = {0x9f, 0x80, 0x80, 0x80, 0x80, 0x10, 0x00};
	craft(p, pid, sizeof pid, 1, sizeof pid);
	expect_bad(p, HAND_HEADER, "pid out of range");
	const uint8_t extra[] = {0x00, 0x00};
	craft(p, extra, sizeof extra, 1, sizeof extra);
	expect_bad(p, HAND_HEADER, "1 bytes left after the last record");
	const uint8_t few[] = {0x0c, 0x05, 0x00};
	craft(p, few, sizeof few, 3, sizeof few);
	expect_bad(p, HAND_HEADER, "payload ends after 2 of 3 records");
	craft(p, few, sizeof few, 2, 50);
	expect_bad(p, HAND_HEADER, "decompressed to 3 bytes");
	craft(p, few, sizeof few, 2, 1000);
	expect_bad(p, HAND_HEADER + 4, "bad uncompressed size");
	craft(p, few, sizeof few, 1u << 24, 2);
	expect_bad(p, HAND_HEADER, "bad record count");
}

/* ---- the command line */

/* Run a shell command; returns the exit status, stderr's lines in *lines. */
static int run(const char *cmd, int *lines, char *first, size_t flen)
{
	char full[2048];
	const char *errf = tpath("stderr.txt");
	snprintf(full, sizeof full, "%s 2>'%s'", cmd, errf);
	int st = system(full);
	FILE *f = fopen(errf, "r");
	*lines = 0;
	if (first)
		first[0] = 0;
	char buf[1024];
	while (f && fgets(buf, sizeof buf, f)) {
		if (*lines == 0 && first)
			snprintf(first, flen, "%s", buf);
		(*lines)++;
	}
	if (f)
		fclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

Test(trace, cli_gen_info_cat)
{
	char cmd[1024], msg[1024];
	int lines;
	const char *p = tpath("s.vmt");
	snprintf(cmd, sizeof cmd, "'%s' trace gen -w stride:pages=16,passes=2 -o '%s'", vmsim(), p);
	cr_assert_eq(run(cmd, &lines, msg, sizeof msg), 0, "%s", msg);
	cr_assert(strstr(msg, "33 records (32 accesses)"), "%s", msg);
	snprintf(cmd, sizeof cmd, "'%s' trace info '%s' | grep -q '^  access       32 (load 32'",
		 vmsim(), p);
	cr_assert_eq(run(cmd, &lines, msg, sizeof msg), 0, "%s", msg);
	snprintf(cmd, sizeof cmd,
		 "test \"$('%s' trace cat '%s' | sed -n 2p)\" = 'cpu0 pid 1 load  0x100000000000 8'",
		 vmsim(), p);
	cr_assert_eq(run(cmd, &lines, msg, sizeof msg), 0, "%s", msg);
	/* A closed pipe is not an error. */
	const char *big = tpath("big.vmt");
	snprintf(cmd, sizeof cmd,
		 "'%s' trace gen -w stride:pages=1000,passes=100 -o '%s' 2>/dev/null && "
		 "'%s' trace cat '%s' | head -1 >/dev/null",
		 vmsim(), big, vmsim(), big);
	cr_assert_eq(run(cmd, &lines, msg, sizeof msg), 0, "%s", msg);
	cr_assert_eq(lines, 0, "stderr: %s", msg);
	snprintf(cmd, sizeof cmd, "'%s' trace gen --help | grep -q usage", vmsim());
	cr_assert_eq(run(cmd, &lines, msg, sizeof msg), 0);
}

Test(trace, cli_corrupt_trace_is_one_line_exit_2)
{
	char cmd[1024], msg[1024];
	int lines;
	const char *p = tpath("s.vmt");
	snprintf(cmd, sizeof cmd, "'%s' trace gen -w stride:pages=16,passes=2 -o '%s'", vmsim(), p);
	cr_assert_eq(run(cmd, &lines, msg, sizeof msg), 0, "%s", msg);
	uint8_t *b;
	size_t len = slurp(p, &b);
	b[len - 20] ^= 1;
	spit(p, b, len);
	free(b);
	const char *sub[] = {"info", "cat"};
	for (int i = 0; i < 2; i++) {
		snprintf(cmd, sizeof cmd, "'%s' trace %s '%s' >/dev/null", vmsim(), sub[i], p);
		cr_assert_eq(run(cmd, &lines, msg, sizeof msg), 2, "%s", msg);
		cr_assert_eq(lines, 1, "%s", msg);
		cr_assert(strstr(msg, "offset "), "%s", msg);
	}
	snprintf(cmd, sizeof cmd, "'%s' trace info '%s/nope.vmt'", vmsim(), tl_tmpdir);
	cr_assert_eq(run(cmd, &lines, msg, sizeof msg), 2, "%s", msg);
	cr_assert_eq(lines, 1);
	snprintf(cmd, sizeof cmd, "'%s' trace gen -w nosuch -o '%s/x.vmt'", vmsim(), tl_tmpdir);
	cr_assert_eq(run(cmd, &lines, msg, sizeof msg), 2, "%s", msg);
	cr_assert_eq(lines, 1);
	cr_assert_neq(access(tpath("x.vmt"), F_OK), 0);
	snprintf(cmd, sizeof cmd, "'%s' trace frobnicate", vmsim());
	cr_assert_eq(run(cmd, &lines, msg, sizeof msg), 2, "%s", msg);
	cr_assert_eq(lines, 1);
}

Test(trace, cli_failed_import_leaves_nothing)
{
	char cmd[1024], msg[1024];
	int lines;
	const char *in = tpath("bad.lackey"), *out = tpath("out.vmt");
	FILE *f = fopen(in, "w");
	for (int i = 0; i < 100000; i++) /* more than one block before the error */
		fprintf(f, " L %08x,8\n", 0x1000 + 8 * i);
	fprintf(f, " S 0x12,8\n");
	fclose(f);
	snprintf(cmd, sizeof cmd, "'%s' trace import --from lackey -o '%s' '%s'", vmsim(), out, in);
	cr_assert_eq(run(cmd, &lines, msg, sizeof msg), 2, "%s", msg);
	cr_assert_eq(lines, 1, "%s", msg);
	cr_assert(strstr(msg, ":100001: "), "%s", msg);
	cr_assert_neq(access(out, F_OK), 0);
	char ls[600];
	snprintf(ls, sizeof ls, "test -z \"$(ls -A '%s' | grep out.vmt)\"", tl_tmpdir);
	cr_assert_eq(system(ls), 0, "a temporary file was left");

	/* The same through a pipe, and the good sample through a pipe. */
	snprintf(cmd, sizeof cmd, "cat '%s' | '%s' trace import --from lackey -o '%s'", in, vmsim(), out);
	cr_assert_eq(run(cmd, &lines, msg, sizeof msg), 2, "%s", msg);
	cr_assert(strstr(msg, "<stdin>:100001: "), "%s", msg);
	cr_assert_neq(access(out, F_OK), 0);
	snprintf(cmd, sizeof cmd,
		 "cat '%s/traces/samples/small.lackey' | '%s' trace import --from lackey -o '%s'",
		 VMSIM_SOURCE_DIR, vmsim(), out);
	cr_assert_eq(run(cmd, &lines, msg, sizeof msg), 0, "%s", msg);
	cr_assert(strstr(msg, "imported 4650 records"), "%s", msg);
	cr_assert_eq(access(out, F_OK), 0);
	snprintf(cmd, sizeof cmd, "'%s' trace import --from nosuch -o '%s'", vmsim(), tpath("y.vmt"));
	cr_assert_eq(run(cmd, &lines, msg, sizeof msg), 2, "%s", msg);
	cr_assert_eq(lines, 1);
}
