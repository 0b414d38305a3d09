/*
 * test_champsim.c - ChampSim trace import: raw, xz and gzip files written
 * here, with hand-checked events, and the errors for bad input.
 */
#include <criterion/criterion.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "traces/vmt.h"

/* ChampSim's input_instr as it lies on disk (64 bytes, little-endian). */
struct rec {
	uint64_t ip;
	uint8_t is_branch, branch_taken;
	uint8_t dst_reg[2], src_reg[4];
	uint64_t dst_mem[2];
	uint64_t src_mem[4];
};
_Static_assert(sizeof(struct rec) == 64, "input_instr is 64 bytes");

/* Three records:
 *   ip 0x401000: loads 0x7000 and 0x8008, store 0x9000   -> 4 events
 *   ip 0x401004: no memory operand                       -> 1 event
 *   ip 0x401008: load 0xb000 (slot 3), store 0xa000 (slot 1) -> 3 events */
static const struct rec recs[3] = {
	{.ip = 0x401000, .dst_mem = {0x9000, 0}, .src_mem = {0x7000, 0, 0x8008, 0}},
	{.ip = 0x401004, .is_branch = 1, .branch_taken = 1},
	{.ip = 0x401008, .dst_mem = {0, 0xa000}, .src_mem = {0, 0, 0, 0xb000}},
};

static const struct {
	uint8_t op, size;
	uint64_t addr;
} want[] = {
	{EV_FETCH, 4, 0x401000}, {EV_LOAD, 8, 0x7000},  {EV_LOAD, 8, 0x8008},
	{EV_STORE, 8, 0x9000},   {EV_FETCH, 4, 0x401004}, {EV_FETCH, 4, 0x401008},
	{EV_LOAD, 8, 0xb000},    {EV_STORE, 8, 0xa000},
};

struct evvec {
	struct vm_event *ev;
	size_t n, cap;
};

static int collect_flush(void *arg, const struct vm_event *ev, size_t n)
{
	struct evvec *v = arg;
	if (v->n + n > v->cap) {
		v->cap = (v->n + n) * 2;
		v->ev = realloc(v->ev, v->cap * sizeof *v->ev);
	}
	memcpy(v->ev + v->n, ev, n * sizeof *ev);
	v->n += n;
	return 0;
}

static long import(const char *path, uint32_t pid, struct evvec *v, struct vmerr *e)
{
	static struct vm_event buf[64]; /* small: batches flush mid-file */
	memset(v, 0, sizeof *v);
	struct ev_sink s = {.buf = buf, .cap = 64, .flush = collect_flush, .arg = v};
	return trace_import_champsim(path, pid, &s, e);
}

static char *tmpfile_with(const void *data, size_t len)
{
	char *path = strdup("/tmp/vmsim-champsim-XXXXXX");
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

static void *xz_compress(const void *data, size_t len, size_t *out_len)
{
	size_t cap = lzma_stream_buffer_bound(len);
	uint8_t *out = malloc(cap);
	*out_len = 0;
	cr_assert_eq(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC64, NULL, data, len, out, out_len,
					     cap),
		     LZMA_OK);
	return out;
}

static char *gz_file(const void *data, size_t len)
{
	char *path = tmpfile_with("", 0);
	gzFile g = gzopen(path, "wb");
	cr_assert_not_null(g);
	cr_assert_eq(gzwrite(g, data, (unsigned)len), (int)len);
	cr_assert_eq(gzclose(g), Z_OK);
	return path;
}

static void check_three(const char *path)
{
	struct evvec v;
	struct vmerr e = {{0}};
	long n = import(path, 7, &v, &e);
	cr_assert_eq(n, 8, "%s: %ld (%s)", path, n, e.msg);
	cr_assert_eq(v.n, 8);
	for (size_t i = 0; i < v.n; i++) {
		cr_assert_eq(v.ev[i].kind, EV_ACCESS);
		cr_assert_eq(v.ev[i].op, want[i].op, "event %zu", i);
		cr_assert_eq(v.ev[i].size, want[i].size, "event %zu", i);
		cr_assert_eq(v.ev[i].addr, want[i].addr, "event %zu: 0x%lx", i,
			     (unsigned long)v.ev[i].addr);
		cr_assert_eq(v.ev[i].pid, 7);
		cr_assert_eq(v.ev[i].vcpu, 0);
	}
	free(v.ev);
}

Test(champsim, raw)
{
	char *path = tmpfile_with(recs, sizeof recs);
	check_three(path);
	unlink(path);
	free(path);
}

Test(champsim, xz)
{
	size_t len;
	void *xz = xz_compress(recs, sizeof recs, &len);
	char *path = tmpfile_with(xz, len);
	check_three(path);
	unlink(path);
	free(path);
	free(xz);
}

Test(champsim, gz)
{
	char *path = gz_file(recs, sizeof recs);
	check_three(path);
	unlink(path);
	free(path);
}

/* 3000 records cross the importer's 1024-record reads. */
Test(champsim, many_records_xz)
{
	size_t nrec = 3000;
	struct rec *r = calloc(nrec, sizeof *r);
	for (size_t i = 0; i < nrec; i++) {
		r[i].ip = 0x400000 + 4 * i;
		r[i].src_mem[0] = i % 2 ? 0x10000 + 8 * i : 0; /* odd: one load */
	}
	size_t len;
	void *xz = xz_compress(r, nrec * sizeof *r, &len);
	char *path = tmpfile_with(xz, len);
	struct evvec v;
	struct vmerr e = {{0}};
	cr_assert_eq(import(path, 1, &v, &e), 3000 + 1500, "%s", e.msg);
	cr_assert_eq(v.ev[v.n - 1].addr, 0x10000 + 8 * 2999);
	cr_assert_eq(v.ev[v.n - 2].addr, 0x400000 + 4 * 2999);
	free(v.ev);
	unlink(path);
	free(path);
	free(xz);
	free(r);
}

Test(champsim, empty_file_is_no_records)
{
	char *path = tmpfile_with("", 0);
	struct evvec v;
	struct vmerr e;
	cr_assert_eq(import(path, 1, &v, &e), 0);
	free(v.ev);
	unlink(path);
	free(path);
}

Test(champsim, truncated_record)
{
	uint8_t buf[3 * 64 + 10];
	memcpy(buf, recs, sizeof recs);
	memset(buf + sizeof recs, 0xab, 10);
	char *path = tmpfile_with(buf, sizeof buf);
	struct evvec v;
	struct vmerr e;
	cr_assert_eq(import(path, 1, &v, &e), VM_EINPUT);
	cr_assert(strstr(e.msg, path) && strstr(e.msg, "offset 192: truncated record (10 of 64"),
		  "%s", e.msg);
	free(v.ev);
	unlink(path);
	free(path);

	/* the same, compressed: the offset is in the decompressed stream */
	path = gz_file(buf, sizeof buf);
	cr_assert_eq(import(path, 1, &v, &e), VM_EINPUT);
	cr_assert(strstr(e.msg, "offset 192: truncated record"), "%s", e.msg);
	free(v.ev);
	unlink(path);
	free(path);
}

Test(champsim, truncated_xz)
{
	size_t nrec = 200, len;
	struct rec *r = calloc(nrec, sizeof *r);
	for (size_t i = 0; i < nrec; i++)
		r[i].ip = 0x1234567 * (i + 1);
	uint8_t *xz = xz_compress(r, nrec * sizeof *r, &len);
	char *path = tmpfile_with(xz, len / 2);
	struct evvec v;
	struct vmerr e;
	cr_assert_eq(import(path, 1, &v, &e), VM_EINPUT);
	cr_assert(strstr(e.msg, path) && strstr(e.msg, ": offset ") &&
		  strstr(e.msg, "xz decompression failed"),
		  "%s", e.msg);
	free(v.ev);
	unlink(path);
	free(path);

	/* corrupt a byte in the middle: a data or check error, not a crash */
	xz[len / 2] ^= 0x55;
	path = tmpfile_with(xz, len);
	cr_assert_eq(import(path, 1, &v, &e), VM_EINPUT);
	cr_assert(strstr(e.msg, "xz decompression failed"), "%s", e.msg);
	free(v.ev);
	unlink(path);
	free(path);
	free(xz);
	free(r);
}

Test(champsim, truncated_gz)
{
	size_t nrec = 200;
	struct rec *r = calloc(nrec, sizeof *r);
	for (size_t i = 0; i < nrec; i++)
		r[i].ip = 0x7654321 * (i + 1);
	char *full = gz_file(r, nrec * sizeof *r);
	FILE *f = fopen(full, "rb");
	uint8_t buf[1 << 16];
	size_t len = fread(buf, 1, sizeof buf, f);
	fclose(f);
	char *path = tmpfile_with(buf, len / 2);
	struct evvec v;
	struct vmerr e;
	cr_assert_eq(import(path, 1, &v, &e), VM_EINPUT);
	cr_assert(strstr(e.msg, path) && strstr(e.msg, "gzip decompression failed"), "%s",
		  e.msg);
	free(v.ev);
	unlink(path);
	unlink(full);
	free(path);
	free(full);
	free(r);
}

Test(champsim, missing_file)
{
	struct evvec v;
	struct vmerr e;
	cr_assert_eq(import("/nonexistent/trace.champsim.xz", 1, &v, &e), VM_EINPUT);
	cr_assert(strstr(e.msg, "/nonexistent/trace.champsim.xz"), "%s", e.msg);
}
