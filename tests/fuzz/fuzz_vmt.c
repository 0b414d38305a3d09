/*
 * fuzz_vmt.c - libFuzzer harness for the .vmt reader (traces/vmt.c).
 *
 * The first input byte chooses what the rest is:
 *   even: a whole file, as vmt_reader_open finds it on disk;
 *   odd:  N (2 bytes, little-endian) and a block payload, which the harness
 *         wraps in a valid header, block header (sizes, CRC-32), zstd frame
 *         and end marker, so that mutations reach the record decoder
 *         instead of stopping at a checksum.  N is adjusted into the range
 *         FORMAT.md allows for the payload's size (N <= U <= 32 N).
 * Properties: the reader never reads out of bounds or leaks (sanitizers);
 * a trace that decodes without error round-trips: written back with
 * vmt_writer and read again, it gives the same events (FORMAT.md: every
 * event with a known kind round-trips exactly).
 */
#include "fuzz_common.h" /* first: it asks for _GNU_SOURCE */

#include <zlib.h>
#include <zstd.h>

#include "traces/vmt.h"

#define FUZZ_VMT_KEEP 4096  /* events compared in the round trip */
#define FUZZ_VMT_BATCH 256

static void fuzz_vmt_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Wrap payload as the only block of a valid trace; returns malloc'd bytes. */
static uint8_t *fuzz_vmt_wrap(unsigned nev, const uint8_t *payload, size_t u, size_t *len)
{
	static const char hdr_name[] = "fuzz";
	size_t cap = ZSTD_compressBound(u);
	size_t hl = 28 + sizeof hdr_name - 1;
	uint8_t *f = malloc(hl + 4 + 16 + cap + 16);
	FUZZ_CHECK(f, "out of memory");
	memcpy(f, "\x89VMT\r\n\x1a\n", 8);
	fuzz_vmt_le32(f + 8, 1);
	memset(f + 12, 0, 12); /* flags, seed */
	f[24] = (uint8_t)(sizeof hdr_name - 1);
	f[25] = f[26] = f[27] = 0;
	memcpy(f + 28, hdr_name, sizeof hdr_name - 1);
	fuzz_vmt_le32(f + hl, (uint32_t)crc32(0, f, (uInt)hl));
	uint8_t *b = f + hl + 4;
	size_t c = ZSTD_compress(b + 16, cap, payload, u, 1);
	FUZZ_CHECK(!ZSTD_isError(c), "zstd: %s", ZSTD_getErrorName(c));
	fuzz_vmt_le32(b, nev);
	fuzz_vmt_le32(b + 4, (uint32_t)u);
	fuzz_vmt_le32(b + 8, (uint32_t)c);
	uLong crc = crc32(0, b, 12);
	crc = crc32(crc, b + 16, (uInt)c);
	fuzz_vmt_le32(b + 12, (uint32_t)crc);
	uint8_t *end = b + 16 + c;
	memset(end, 0, 12);
	fuzz_vmt_le32(end + 12, 0x7BD5C66Fu);
	*len = (size_t)(end + 16 - f);
	return f;
}

/* Read the whole trace at path into c; 0 at the clean end or the error. */
static long fuzz_vmt_read_all(const char *path, struct fuzz_collect *c)
{
	struct vmerr err = {{0}};
	struct vmt_meta meta;
	struct vmt_reader *r = vmt_reader_open(path, &meta, &err);
	if (!r) {
		FUZZ_CHECK(err.msg[0], "vmt_reader_open failed without a message");
		return VM_EINPUT;
	}
	struct vm_event buf[FUZZ_VMT_BATCH];
	long n;
	while ((n = vmt_read(r, buf, FUZZ_VMT_BATCH, &err)) > 0) {
		FUZZ_CHECK((size_t)n <= FUZZ_VMT_BATCH, "vmt_read returned %ld > %d", n,
			   FUZZ_VMT_BATCH);
		fuzz_collect_flush(c, buf, (size_t)n);
	}
	if (n < 0)
		FUZZ_CHECK(err.msg[0], "vmt_read failed (%ld) without a message", n);
	/* Reading after the end or an error stays there. */
	long again = vmt_read(r, buf, FUZZ_VMT_BATCH, &err);
	FUZZ_CHECK(again == n, "vmt_read returned %ld, then %ld", n, again);
	vmt_reader_close(r);
	return n;
}

static char fuzz_vmt_dir[64];

static void fuzz_vmt_cleanup(void)
{
	char p[128];
	snprintf(p, sizeof p, "%s/rt.vmt", fuzz_vmt_dir);
	unlink(p);
	rmdir(fuzz_vmt_dir);
}

/* Write ev[0..n-1] with vmt_writer, read it back, compare. */
static void fuzz_vmt_roundtrip(const struct vm_event *ev, size_t n)
{
	if (!fuzz_vmt_dir[0]) {
		snprintf(fuzz_vmt_dir, sizeof fuzz_vmt_dir, "/tmp/vmsim-fuzz-XXXXXX");
		FUZZ_CHECK(mkdtemp(fuzz_vmt_dir), "mkdtemp failed");
		atexit(fuzz_vmt_cleanup);
	}
	char path[128];
	snprintf(path, sizeof path, "%s/rt.vmt", fuzz_vmt_dir);
	struct vmerr err = {{0}};
	struct vmt_meta meta = {.workload = "fuzz"};
	struct vmt_writer *w = vmt_writer_open(path, &meta, &err);
	FUZZ_CHECK(w, "vmt_writer_open: %s", err.msg);
	FUZZ_CHECK(vmt_write(w, ev, n, &err) == 0, "vmt_write: %s", err.msg);
	FUZZ_CHECK(vmt_writer_close(w, &err) == 0, "vmt_writer_close: %s", err.msg);

	static struct vm_event back[FUZZ_VMT_KEEP];
	struct fuzz_collect c = {.ev = back, .cap = FUZZ_VMT_KEEP};
	long rc = fuzz_vmt_read_all(path, &c);
	FUZZ_CHECK(rc == 0, "re-reading what vmt_writer wrote failed (%ld)", rc);
	FUZZ_CHECK(c.total == n, "wrote %zu events, read %llu back", n, (unsigned long long)c.total);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(!memcmp(&ev[i], &back[i], sizeof ev[i]),
			   "event %zu: kind %u op %u size %u vcpu %u pid %u addr 0x%llx arg 0x%llx "
			   "came back as kind %u op %u size %u vcpu %u pid %u addr 0x%llx arg 0x%llx",
			   i, ev[i].kind, ev[i].op, ev[i].size, ev[i].vcpu, ev[i].pid,
			   (unsigned long long)ev[i].addr, (unsigned long long)ev[i].arg, back[i].kind,
			   back[i].op, back[i].size, back[i].vcpu, back[i].pid,
			   (unsigned long long)back[i].addr, (unsigned long long)back[i].arg);
}

int fuzz_vmt(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t *wrapped = NULL;
	const uint8_t *file = data + 1;
	size_t flen = size - 1;
	if ((data[0] & 1) && size > 3) {
		const uint8_t *payload = data + 3;
		size_t u = size - 3;
		unsigned nev = data[1] | (unsigned)data[2] << 8;
		if (nev == 0)
			nev = 1;
		if (nev > u)
			nev = (unsigned)u;
		if ((size_t)nev * 32 < u)
			nev = (unsigned)((u + 31) / 32);
		file = wrapped = fuzz_vmt_wrap(nev, payload, u, &flen);
	}
	static struct vm_event ev[FUZZ_VMT_KEEP];
	struct fuzz_collect c = {.ev = ev, .cap = FUZZ_VMT_KEEP};
	long rc = fuzz_vmt_read_all(fuzz_memfile(0, file, flen), &c);
	free(wrapped);
	if (rc == 0 && c.total <= FUZZ_VMT_KEEP)
		fuzz_vmt_roundtrip(ev, c.n);
	return 0;
}

#ifndef FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_vmt(data, size); }
#endif
