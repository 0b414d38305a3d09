/*
 * champsim.c - import of ChampSim instruction traces.
 *
 * Notes:
 *  - Record: ChampSim's `struct input_instr`, 64 bytes, little-endian, no
 *    padding (ChampSim/ChampSim, inc/trace_instruction.h, commit b92dc114):
 *
 *      0        8    9    10      12          16           32            64
 *      +--------+----+----+-------+-----------+------------+-------------+
 *      |   ip   | br | tk | dreg2 |   sreg4   | dst_mem[2] | src_mem[4]  |
 *      +--------+----+----+-------+-----------+------------+-------------+
 *      ip u64; is_branch u8; branch_taken u8; destination_registers[2] u8;
 *      source_registers[4] u8; destination_memory[2] u64; source_memory[4] u64
 *
 *    Some ChampSim branches append a load_type byte, which breaks every
 *    published trace (their own comment says so); those are not read.
 *    The cloudsuite_instr variant (4 destinations, asid) is not read either.
 *  - Events per record, in this order: a fetch of ip, size 4 (the trace does
 *    not record instruction lengths; 4 is the mean x86-64 length, and only
 *    the page of ip matters to translation); a load, size 8, per non-zero
 *    source_memory; a store, size 8, per non-zero destination_memory.  The
 *    trace gives addresses, not operand sizes; 8 is the common case and
 *    crosses no page boundary when the address is aligned.  Branch and
 *    register fields are ignored: vmsim models translation, not the core.
 *  - Compression by magic bytes: xz (FD 37 7A 58 5A 00) via liblzma,
 *    gzip (1F 8B) via zlib, anything else raw.  ChampSim's published traces
 *    are .xz, some are .gz.
 *  - Errors say "PATH: offset N: what", N the byte offset in the
 *    decompressed record stream (record number * 64); for decompression
 *    errors the compressed offset is given too.
 */
#include <errno.h>
#include <lzma.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "vmt.h"

#define CS_REC 64
#define CS_BATCH 1024 /* records per read */

enum cs_kind { CS_RAW, CS_GZ, CS_XZ };

struct cs_in {
	enum cs_kind kind;
	const char *path;
	FILE *f;
	gzFile gz;
	lzma_stream xz;
	int xz_finish, xz_done;
	uint8_t inbuf[1 << 16];
};

static const char *xz_what(lzma_ret r)
{
	switch (r) {
	case LZMA_MEM_ERROR: return "out of memory";
	case LZMA_FORMAT_ERROR: return "not an xz stream";
	case LZMA_OPTIONS_ERROR: return "unsupported xz options";
	case LZMA_DATA_ERROR: return "compressed data is corrupt";
	case LZMA_BUF_ERROR: return "compressed data ends early (truncated file?)";
	default: return "decoder error";
	}
}

static int cs_open(struct cs_in *in, const char *path, struct vmerr *err)
{
	uint8_t magic[6] = {0};
	memset(in, 0, offsetof(struct cs_in, inbuf));
	in->path = path;
	in->f = fopen(path, "rb");
	if (!in->f)
		return vmerr_set(err, errno == ENOENT ? VM_EINPUT : VM_EIO, "%s: %s", path,
				 strerror(errno));
	size_t got = fread(magic, 1, sizeof magic, in->f);
	if (ferror(in->f)) {
		fclose(in->f);
		return vmerr_set(err, VM_EIO, "%s: read failed: %s", path, strerror(errno));
	}
	rewind(in->f);
	static const uint8_t xz_magic[6] = {0xfd, '7', 'z', 'X', 'Z', 0};
	if (got == 6 && memcmp(magic, xz_magic, 6) == 0) {
		in->kind = CS_XZ;
		in->xz = (lzma_stream)LZMA_STREAM_INIT;
		lzma_ret r = lzma_stream_decoder(&in->xz, UINT64_MAX, LZMA_CONCATENATED);
		if (r != LZMA_OK) {
			fclose(in->f);
			return vmerr_set(err, r == LZMA_MEM_ERROR ? VM_ENOMEM : VM_EIO,
					 "%s: cannot start the xz decoder: %s", path, xz_what(r));
		}
	} else if (got >= 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
		in->kind = CS_GZ;
		fclose(in->f);
		in->f = NULL;
		in->gz = gzopen(path, "rb");
		if (!in->gz)
			return vmerr_set(err, VM_EIO, "%s: cannot open for gzip reading: %s", path,
					 strerror(errno));
		gzbuffer(in->gz, 1 << 17);
	} else {
		in->kind = CS_RAW;
	}
	return 0;
}

static void cs_close(struct cs_in *in)
{
	if (in->kind == CS_XZ)
		lzma_end(&in->xz);
	if (in->gz)
		gzclose(in->gz);
	if (in->f)
		fclose(in->f);
}

/* Fill buf with up to len decompressed bytes: the count (short only at the
 * end of the input) or a negative code.  off = bytes delivered so far. */
static long cs_read(struct cs_in *in, uint8_t *buf, size_t len, uint64_t off, struct vmerr *err)
{
	switch (in->kind) {
	case CS_RAW: {
		size_t got = fread(buf, 1, len, in->f);
		if (got < len && ferror(in->f))
			return vmerr_set(err, VM_EIO, "%s: offset %llu: read failed: %s", in->path,
					 (unsigned long long)(off + got), strerror(errno));
		return (long)got;
	}
	case CS_GZ: {
		int got = gzread(in->gz, buf, (unsigned)len);
		int zerr = Z_OK;
		const char *msg = gzerror(in->gz, &zerr);
		size_t plen = strlen(in->path);
		if (strncmp(msg, in->path, plen) == 0 && strncmp(msg + plen, ": ", 2) == 0)
			msg += plen + 2; /* zlib prefixes the path we print already */
		if (got < 0 || (zerr != Z_OK && zerr != Z_STREAM_END))
			return vmerr_set(err, zerr == Z_ERRNO ? VM_EIO : VM_EINPUT,
					 "%s: offset %llu: gzip decompression failed at compressed "
					 "offset %lld: %s",
					 in->path, (unsigned long long)(off + (got > 0 ? got : 0)),
					 (long long)gzoffset(in->gz),
					 zerr == Z_ERRNO ? strerror(errno) : msg);
		return got;
	}
	case CS_XZ: {
		lzma_stream *s = &in->xz;
		if (in->xz_done)
			return 0;
		s->next_out = buf;
		s->avail_out = len;
		while (s->avail_out) {
			if (s->avail_in == 0 && !in->xz_finish) {
				s->next_in = in->inbuf;
				s->avail_in = fread(in->inbuf, 1, sizeof in->inbuf, in->f);
				if (ferror(in->f))
					return vmerr_set(err, VM_EIO, "%s: read failed: %s", in->path,
							 strerror(errno));
				if (feof(in->f))
					in->xz_finish = 1;
			}
			lzma_ret r = lzma_code(s, in->xz_finish ? LZMA_FINISH : LZMA_RUN);
			if (r == LZMA_STREAM_END) {
				in->xz_done = 1;
				break;
			}
			if (r != LZMA_OK)
				return vmerr_set(err, r == LZMA_MEM_ERROR ? VM_ENOMEM : VM_EINPUT,
						 "%s: offset %llu: xz decompression failed at "
						 "compressed offset %llu: %s",
						 in->path,
						 (unsigned long long)(off + (len - s->avail_out)),
						 (unsigned long long)s->total_in, xz_what(r));
		}
		return (long)(len - s->avail_out);
	}
	}
	return 0;
}

static inline uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Returns the number of events produced (as trace_import_lackey does). */
long trace_import_champsim(const char *path, uint32_t pid, struct ev_sink *sink,
			   struct vmerr *err)
{
	struct cs_in *in = malloc(sizeof *in);
	uint8_t *buf = malloc(CS_BATCH * CS_REC);
	long rc, events = 0;
	uint64_t off = 0;
	if (!in || !buf) {
		rc = vmerr_set(err, VM_ENOMEM, "%s: out of memory", path);
		goto err_free;
	}
	rc = cs_open(in, path, err);
	if (rc < 0)
		goto err_free;

	for (;;) {
		long got = cs_read(in, buf, CS_BATCH * CS_REC, off, err);
		if (got < 0) {
			rc = got;
			goto err_close;
		}
		size_t whole = (size_t)got / CS_REC;
		for (size_t i = 0; i < whole; i++) {
			const uint8_t *r = buf + i * CS_REC;
			ev_sink_put(sink, EV_ACCESS, EV_FETCH, 4, 0, pid, le64(r), 0);
			events++;
			for (int k = 0; k < 4; k++) {
				uint64_t a = le64(r + 32 + 8 * k);
				if (a) {
					ev_sink_put(sink, EV_ACCESS, EV_LOAD, 8, 0, pid, a, 0);
					events++;
				}
			}
			for (int k = 0; k < 2; k++) {
				uint64_t a = le64(r + 16 + 8 * k);
				if (a) {
					ev_sink_put(sink, EV_ACCESS, EV_STORE, 8, 0, pid, a, 0);
					events++;
				}
			}
		}
		if (VM_UNLIKELY(sink->err)) {
			rc = vmerr_set(err, sink->err, "%s: offset %llu: the trace consumer failed",
				       path, (unsigned long long)off);
			goto err_close;
		}
		if ((size_t)got % CS_REC) {
			rc = vmerr_set(err, VM_EINPUT,
				       "%s: offset %llu: truncated record (%zu of %d bytes): the "
				       "input is not a whole number of ChampSim input_instr records",
				       path, (unsigned long long)(off + whole * CS_REC),
				       (size_t)got % CS_REC, CS_REC);
			goto err_close;
		}
		off += (uint64_t)got;
		if ((size_t)got < CS_BATCH * CS_REC)
			break;
	}
	if (ev_sink_flush(sink) < 0) {
		rc = vmerr_set(err, sink->err, "%s: the trace consumer failed", path);
		goto err_close;
	}
	cs_close(in);
	free(in);
	free(buf);
	return events;

err_close:
	cs_close(in);
err_free:
	free(in);
	free(buf);
	return rc;
}
