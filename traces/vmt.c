/*
 * vmt.c - the .vmt trace format: writer and reader.
 *
 * Notes:
 *   The byte layout is specified in traces/FORMAT.md; this file follows it.
 *   A block is independent: the predictor state (last address, last delta and
 *   last size per access op, the last access address of any op, the current
 *   pid and vCPU) restarts at its initial value at every block, so blocks
 *   can be decoded out of order.
 *
 *   The reader must survive any input (it is fuzzed).  Two rules make the
 *   record decoder safe without a bounds check per byte:
 *     - the decompressed payload is followed by VMT_PAD zero bytes, more
 *       than the longest record (VMT_MAX_RECORD_BYTES), so a record that
 *       starts inside the payload can only read into the padding;
 *     - after each record the decoder checks that it ended inside the
 *       payload, and rejects the block otherwise.
 *   Every size in a block header is checked against limits before anything
 *   is allocated or read.
 */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>
#include <zstd.h>

#include "vmt.h"

#define VMT_MAGIC "\x89VMT\r\n\x1a\n"
#define VMT_MAGIC_LEN 8
#define VMT_VERSION 1
#define VMT_FIXED_HEADER 28   /* magic .. params length, before the strings */
#define VMT_BLOCK_HEADER 16
_Static_assert(VMT_END_BYTES == VMT_BLOCK_HEADER, "the end marker is a block header");
#define VMT_BLOCK_EVENTS 65536 /* events per block the writer makes */
#define VMT_MAX_BLOCK_EVENTS (1u << 20)
#define VMT_MAX_EVENT_BYTES 32 /* encoded bytes per event, context included */
#define VMT_MAX_RECORD_BYTES 23
#define VMT_PAD 64
#define VMT_ZSTD_LEVEL 3

_Static_assert(VMT_PAD > VMT_MAX_RECORD_BYTES, "decoder reads up to one record past the end");

/* Tag byte.  Bit 7 clear: a compact access; set: any other record. */
enum {
	TAG_OTHER = 0x80,
	TAG_OP_MASK = 0x03,
	TAG_MODE_SHIFT = 2,
	TAG_MODE_MASK = 0x1c,
	TAG_SIZE = 0x20,      /* access: a size byte follows */
	TAG_SCALED = 0x40,    /* access: the varint delta counts 8-byte units */
	TAG_KIND_MASK = 0x0f, /* other: kind, or KIND_CONTEXT */
	TAG_OPSIZE = 0x10,    /* other: op and size bytes follow */
	TAG_ADDR = 0x20,      /* other: addr varint follows */
	TAG_ARG = 0x40,       /* other: arg varint follows */
	TAG_PID = 0x10,       /* context: pid varint follows */
	TAG_VCPU = 0x20,      /* context: vcpu byte follows */
	KIND_CONTEXT = 15,
};

/* How a compact access finds its address. */
enum {
	MODE_REPEAT = 0, /* last[op] + delta[op]: the same stride again */
	MODE_SEQ = 1,    /* last[op] + size[op]: right after the previous one */
	MODE_SAME = 2,   /* any: the previous access's address, whatever its op */
	MODE_DOP = 3,    /* last[op] + zigzag varint */
	MODE_DANY = 4,   /* any + zigzag varint */
	MODE_COUNT = 5,
};

struct pred {
	uint64_t last[3], delta[3], any;
	uint8_t size[3];
	uint8_t vcpu;
	uint32_t pid;
};

static void pred_reset(struct pred *s)
{
	memset(s, 0, sizeof *s);
	s->size[0] = s->size[1] = s->size[2] = 8;
}

static inline uint64_t zz_enc(uint64_t d) { return (d << 1) ^ (uint64_t)((int64_t)d >> 63); }
static inline uint64_t zz_dec(uint64_t u) { return (u >> 1) ^ (0 - (u & 1)); }

static inline void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

static inline uint8_t *put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

static inline unsigned varint_len(uint64_t v)
{
	unsigned n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* NULL if the varint does not fit 64 bits.  Reads at most 10 bytes. */
static inline const uint8_t *get_varint(const uint8_t *p, uint64_t *v)
{
	uint64_t b = *p++;
	if (VM_LIKELY(b < 0x80)) {
		*v = b;
		return p;
	}
	uint64_t x = b & 0x7f;
	for (unsigned sh = 7; sh < 63; sh += 7) {
		b = *p++;
		x |= (b & 0x7f) << sh;
		if (b < 0x80) {
			*v = x;
			return p;
		}
	}
	b = *p++;
	if (b > 1)
		return NULL;
	*v = x | b << 63;
	return p;
}

/* ------------------------------------------------------------------ writer */

struct vmt_writer {
	FILE *f;
	char *path, *tmp; /* tmp NULL when writing to stdout */
	ZSTD_CCtx *cctx;
	uint8_t *raw;     /* the block being encoded */
	size_t rawlen;
	uint32_t nrec;
	uint8_t *cbuf;
	size_t ccap;
	struct pred st;
	uint64_t records, bytes, blocks;
	int err;
	struct vmerr emsg;
};

static int werr(struct vmt_writer *w, struct vmerr *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int werr(struct vmt_writer *w, struct vmerr *err, int code, const char *fmt, ...)
{
	char msg[sizeof w->emsg.msg - 64];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (!w->err) {
		w->err = code;
		vmerr_set(&w->emsg, code, "%s: %s", w->path, msg);
	}
	if (err)
		*err = w->emsg;
	return w->err;
}

static int write_bytes(struct vmt_writer *w, const void *p, size_t n, struct vmerr *err)
{
	if (n && fwrite(p, 1, n, w->f) != n)
		return werr(w, err, VM_EIO, "write failed: %s", strerror(errno));
	w->bytes += n;
	return 0;
}

static void writer_free(struct vmt_writer *w)
{
	ZSTD_freeCCtx(w->cctx);
	free(w->raw);
	free(w->cbuf);
	free(w->path);
	free(w->tmp);
	free(w);
}

struct vmt_writer *vmt_writer_open(const char *path, const struct vmt_meta *meta,
				   struct vmerr *err)
{
	size_t wl = strnlen(meta->workload, VMT_NAME_MAX);
	size_t pl = strnlen(meta->params, VMT_PARAMS_MAX);
	if (wl >= VMT_NAME_MAX || pl >= VMT_PARAMS_MAX) {
		vmerr_set(err, VM_EINPUT, "%s: workload name or parameters too long for a .vmt header",
			  path);
		return NULL;
	}
	struct vmt_writer *w = calloc(1, sizeof *w);
	if (!w) {
		vmerr_set(err, VM_ENOMEM, "%s: out of memory", path);
		return NULL;
	}
	size_t rawcap = (size_t)VMT_BLOCK_EVENTS * VMT_MAX_EVENT_BYTES;
	w->ccap = ZSTD_compressBound(rawcap);
	w->path = strdup(path);
	w->raw = malloc(rawcap);
	w->cbuf = malloc(w->ccap);
	w->cctx = ZSTD_createCCtx();
	if (!w->path || !w->raw || !w->cbuf || !w->cctx) {
		vmerr_set(err, VM_ENOMEM, "%s: out of memory", path);
		writer_free(w);
		return NULL;
	}

	if (strcmp(path, "-") == 0) {
		w->f = stdout;
	} else {
		size_t n = strlen(path) + 32;
		w->tmp = malloc(n);
		if (!w->tmp) {
			vmerr_set(err, VM_ENOMEM, "%s: out of memory", path);
			writer_free(w);
			return NULL;
		}
		snprintf(w->tmp, n, "%s.tmp.%ld", path, (long)getpid());
		w->f = fopen(w->tmp, "wb"); /* a stale one with our pid is dead */
		if (!w->f) {
			vmerr_set(err, VM_EIO, "%s: cannot create %s: %s", path, w->tmp,
				  strerror(errno));
			writer_free(w);
			return NULL;
		}
	}

	uint8_t h[VMT_FIXED_HEADER + VMT_NAME_MAX + VMT_PARAMS_MAX + 4];
	memcpy(h, VMT_MAGIC, VMT_MAGIC_LEN);
	put_le32(h + 8, VMT_VERSION);
	put_le32(h + 12, meta->flags);
	put_le32(h + 16, (uint32_t)meta->seed);
	put_le32(h + 20, (uint32_t)(meta->seed >> 32));
	h[24] = (uint8_t)wl;
	h[25] = 0;
	h[26] = (uint8_t)pl;
	h[27] = (uint8_t)(pl >> 8);
	memcpy(h + VMT_FIXED_HEADER, meta->workload, wl);
	memcpy(h + VMT_FIXED_HEADER + wl, meta->params, pl);
	size_t hl = VMT_FIXED_HEADER + wl + pl;
	put_le32(h + hl, (uint32_t)crc32(0, h, (uInt)hl));
	if (write_bytes(w, h, hl + 4, err) < 0) {
		vmt_writer_abort(w);
		return NULL;
	}
	pred_reset(&w->st);
	return w;
}

static int flush_block(struct vmt_writer *w, struct vmerr *err)
{
	if (!w->nrec)
		return 0;
	size_t c = ZSTD_compressCCtx(w->cctx, w->cbuf, w->ccap, w->raw, w->rawlen, VMT_ZSTD_LEVEL);
	if (ZSTD_isError(c))
		return werr(w, err, VM_EIO, "zstd compression failed: %s", ZSTD_getErrorName(c));
	uint8_t h[VMT_BLOCK_HEADER];
	put_le32(h, w->nrec);
	put_le32(h + 4, (uint32_t)w->rawlen);
	put_le32(h + 8, (uint32_t)c);
	uLong crc = crc32(0, h, 12);
	crc = crc32(crc, w->cbuf, (uInt)c);
	put_le32(h + 12, (uint32_t)crc);
	if (write_bytes(w, h, sizeof h, err) < 0 || write_bytes(w, w->cbuf, c, err) < 0)
		return w->err;
	w->blocks++;
	w->nrec = 0;
	w->rawlen = 0;
	pred_reset(&w->st);
	return 0;
}

/* One event into the block; the caller made room for VMT_MAX_EVENT_BYTES. */
static inline uint8_t *encode(struct pred *s, uint8_t *p, const struct vm_event *e)
{
	if (VM_UNLIKELY(e->pid != s->pid || e->vcpu != s->vcpu)) {
		uint8_t *tag = p++;
		*tag = TAG_OTHER | KIND_CONTEXT;
		if (e->pid != s->pid) {
			*tag |= TAG_PID;
			p = put_varint(p, e->pid);
		}
		if (e->vcpu != s->vcpu) {
			*tag |= TAG_VCPU;
			*p++ = e->vcpu;
		}
		s->pid = e->pid;
		s->vcpu = e->vcpu;
	}
	if (VM_LIKELY(e->kind == EV_ACCESS && e->op < 3 && e->arg == 0)) {
		unsigned op = e->op;
		uint64_t a = e->addr, last = s->last[op];
		uint64_t dop = a - last;
		uint8_t tag = (uint8_t)op;
		uint8_t *tp = p++;
		if (dop == s->delta[op]) {
			tag |= MODE_REPEAT << TAG_MODE_SHIFT;
		} else if (dop == s->size[op]) {
			tag |= MODE_SEQ << TAG_MODE_SHIFT;
		} else if (a == s->any) {
			tag |= MODE_SAME << TAG_MODE_SHIFT;
		} else {
			uint64_t dany = a - s->any;
			uint64_t zo = zz_enc(dop), za = zz_enc(dany);
			unsigned mode = MODE_DOP;
			if (varint_len(za) < varint_len(zo)) {
				mode = MODE_DANY;
				zo = za;
				dop = dany;
			}
			/* Aligned word deltas lose 3 bits that carry nothing. */
			if ((dop & 7) == 0) {
				tag |= TAG_SCALED;
				zo = zz_enc((uint64_t)((int64_t)dop >> 3));
			}
			tag |= (uint8_t)(mode << TAG_MODE_SHIFT);
			p = put_varint(p, zo);
			dop = a - last;
		}
		if (e->size != s->size[op]) {
			tag |= TAG_SIZE;
			*p++ = e->size;
			s->size[op] = e->size;
		}
		*tp = tag;
		s->delta[op] = dop;
		s->last[op] = a;
		s->any = a;
		return p;
	}
	uint8_t *tag = p++;
	*tag = (uint8_t)(TAG_OTHER | e->kind);
	if (e->op || e->size) {
		*tag |= TAG_OPSIZE;
		*p++ = e->op;
		*p++ = e->size;
	}
	if (e->addr) {
		*tag |= TAG_ADDR;
		p = put_varint(p, e->addr);
	}
	if (e->arg) {
		*tag |= TAG_ARG;
		p = put_varint(p, e->arg);
	}
	return p;
}

int vmt_write(struct vmt_writer *w, const struct vm_event *ev, size_t n, struct vmerr *err)
{
	if (w->err)
		return werr(w, err, w->err, "(earlier error)");
	for (size_t i = 0; i < n; i++) {
		if (VM_UNLIKELY(ev[i].kind >= EV_KIND_COUNT))
			return werr(w, err, VM_EINPUT, "event %" PRIu64 ": unknown kind %u",
				    w->records + i, ev[i].kind);
	}
	struct pred s = w->st;
	uint8_t *p = w->raw + w->rawlen;
	for (size_t i = 0; i < n; i++) {
		p = encode(&s, p, &ev[i]);
		if (VM_UNLIKELY(++w->nrec == VMT_BLOCK_EVENTS)) {
			w->rawlen = (size_t)(p - w->raw);
			w->records += i + 1;
			ev += i + 1;
			n -= i + 1;
			i = (size_t)-1;
			if (flush_block(w, err) < 0)
				return w->err;
			s = w->st;
			p = w->raw;
		}
	}
	w->rawlen = (size_t)(p - w->raw);
	w->records += n;
	w->st = s;
	return 0;
}

int vmt_writer_flush(struct vmt_writer *w, struct vmerr *err)
{
	if (w->err)
		return werr(w, err, w->err, "(earlier error)");
	return flush_block(w, err);
}

int vmt_sink_flush(void *writer, const struct vm_event *ev, size_t n)
{
	return vmt_write(writer, ev, n, NULL);
}

int vmt_writer_error(const struct vmt_writer *w, struct vmerr *err)
{
	if (w->err && err)
		*err = w->emsg;
	return w->err;
}

static void writer_discard(struct vmt_writer *w)
{
	if (w->f && w->f != stdout)
		fclose(w->f);
	else if (w->f)
		fflush(w->f);
	if (w->tmp)
		unlink(w->tmp);
	writer_free(w);
}

int vmt_writer_close(struct vmt_writer *w, struct vmerr *err)
{
	int rc = w->err ? werr(w, err, w->err, "(earlier error)") : flush_block(w, err);
	if (rc == 0) {
		uint8_t h[VMT_BLOCK_HEADER] = {0};
		put_le32(h + 12, (uint32_t)crc32(0, h, 12));
		rc = write_bytes(w, h, sizeof h, err);
	}
	if (rc == 0 && fflush(w->f) != 0)
		rc = werr(w, err, VM_EIO, "write failed: %s", strerror(errno));
	if (rc < 0) {
		writer_discard(w);
		return rc;
	}
	if (w->f != stdout) {
		FILE *f = w->f;
		w->f = NULL;
		if (fclose(f) != 0) {
			rc = werr(w, err, VM_EIO, "write failed: %s", strerror(errno));
		} else if (rename(w->tmp, w->path) != 0) {
			rc = werr(w, err, VM_EIO, "cannot rename %s into place: %s", w->tmp,
				  strerror(errno));
		} else {
			free(w->tmp);
			w->tmp = NULL;
		}
		if (rc < 0) {
			writer_discard(w);
			return rc;
		}
	}
	writer_free(w);
	return 0;
}

void vmt_writer_abort(struct vmt_writer *w)
{
	if (w)
		writer_discard(w);
}

uint64_t vmt_writer_records(const struct vmt_writer *w) { return w->records; }
uint64_t vmt_writer_bytes(const struct vmt_writer *w) { return w->bytes; }

/* ------------------------------------------------------------------ reader */

struct vmt_reader {
	FILE *f;
	char name[256];
	uint64_t off;       /* file offset of the next byte to read */
	uint64_t block_off; /* file offset of the current block's header */
	ZSTD_DCtx *dctx;
	uint8_t *cbuf, *raw;
	size_t ccap, rawcap;
	const uint8_t *p, *end;
	uint32_t left;      /* events still to decode in this block */
	uint32_t nrec;      /* events in this block */
	struct pred st;
	int done, err;
	struct vmerr emsg;
	struct vmt_stats stats;
};

static int rerr(struct vmt_reader *r, struct vmerr *err, uint64_t off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int rerr(struct vmt_reader *r, struct vmerr *err, uint64_t off, const char *fmt, ...)
{
	char msg[sizeof r->emsg.msg - 64];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	r->err = VM_EINPUT;
	vmerr_set(&r->emsg, VM_EINPUT, "%s: offset %" PRIu64 ": %s", r->name, off, msg);
	if (err)
		*err = r->emsg;
	return r->err;
}

/* Read exactly n bytes; the count actually read (short at end of file). */
static size_t read_some(struct vmt_reader *r, void *buf, size_t n)
{
	size_t got = n ? fread(buf, 1, n, r->f) : 0;
	r->off += got;
	return got;
}

static int read_error(struct vmt_reader *r, struct vmerr *err)
{
	r->err = VM_EIO;
	vmerr_set(&r->emsg, VM_EIO, "%s: offset %" PRIu64 ": read failed: %s", r->name, r->off,
		  strerror(errno));
	if (err)
		*err = r->emsg;
	return r->err;
}

struct vmt_reader *vmt_reader_open(const char *path, struct vmt_meta *meta, struct vmerr *err)
{
	struct vmt_reader *r = calloc(1, sizeof *r);
	if (!r) {
		vmerr_set(err, VM_ENOMEM, "%s: out of memory", path);
		return NULL;
	}
	snprintf(r->name, sizeof r->name, "%s", strcmp(path, "-") == 0 ? "<stdin>" : path);
	if (strcmp(path, "-") == 0) {
		r->f = stdin;
	} else if (!(r->f = fopen(path, "rb"))) {
		vmerr_set(err, errno == ENOENT || errno == EISDIR || errno == EACCES ? VM_EINPUT : VM_EIO,
			  "%s: cannot open: %s", path, strerror(errno));
		free(r);
		return NULL;
	}
	r->dctx = ZSTD_createDCtx();
	if (!r->dctx) {
		vmerr_set(err, VM_ENOMEM, "%s: out of memory", path);
		goto fail;
	}

	uint8_t h[VMT_FIXED_HEADER + 65535 + 65535 + 4];
	size_t got = read_some(r, h, VMT_FIXED_HEADER);
	if (ferror(r->f)) {
		read_error(r, err);
		goto fail;
	}
	if (got < VMT_MAGIC_LEN || memcmp(h, VMT_MAGIC, VMT_MAGIC_LEN) != 0) {
		if (got >= 4 && memcmp(h, VMT_MAGIC, 4) == 0 && got < VMT_MAGIC_LEN)
			rerr(r, err, got, "truncated header (%zu of %d bytes)", got, VMT_FIXED_HEADER);
		else
			rerr(r, err, 0, "not a .vmt trace (wrong magic; expected \\x89VMT\\r\\n\\x1a\\n)");
		goto fail;
	}
	if (got < VMT_FIXED_HEADER) {
		rerr(r, err, got, "truncated header (%zu of %d bytes)", got, VMT_FIXED_HEADER);
		goto fail;
	}
	meta->version = get_le32(h + 8);
	if (meta->version != VMT_VERSION) {
		rerr(r, err, 8, "unsupported version %" PRIu32 " (this vmsim reads version %d)",
		     meta->version, VMT_VERSION);
		goto fail;
	}
	meta->flags = get_le32(h + 12);
	meta->seed = get_le64(h + 16);
	unsigned wl = h[24] | (unsigned)h[25] << 8, pl = h[26] | (unsigned)h[27] << 8;
	if (wl >= VMT_NAME_MAX) {
		rerr(r, err, 24, "workload name length %u exceeds %d", wl, VMT_NAME_MAX - 1);
		goto fail;
	}
	if (pl >= VMT_PARAMS_MAX) {
		rerr(r, err, 26, "parameters length %u exceeds %d", pl, VMT_PARAMS_MAX - 1);
		goto fail;
	}
	size_t rest = wl + pl + 4;
	got = read_some(r, h + VMT_FIXED_HEADER, rest);
	if (ferror(r->f)) {
		read_error(r, err);
		goto fail;
	}
	if (got < rest) {
		rerr(r, err, r->off, "truncated header (%zu of %zu bytes)", VMT_FIXED_HEADER + got,
		     VMT_FIXED_HEADER + rest);
		goto fail;
	}
	size_t hl = VMT_FIXED_HEADER + wl + pl;
	uint32_t want = get_le32(h + hl), have = (uint32_t)crc32(0, h, (uInt)hl);
	if (want != have) {
		rerr(r, err, hl, "header checksum mismatch (stored 0x%08" PRIx32 ", computed 0x%08" PRIx32
				 ")", want, have);
		goto fail;
	}
	if (memchr(h + VMT_FIXED_HEADER, 0, wl + pl)) {
		rerr(r, err, VMT_FIXED_HEADER, "NUL byte in the workload name or parameters");
		goto fail;
	}
	memcpy(meta->workload, h + VMT_FIXED_HEADER, wl);
	meta->workload[wl] = 0;
	memcpy(meta->params, h + VMT_FIXED_HEADER + wl, pl);
	meta->params[pl] = 0;
	r->stats.bytes = r->off;
	r->block_off = r->off;
	return r;
fail:
	vmt_reader_close(r);
	return NULL;
}

/* Read and check the next block; 0 at the end marker, 1 with a block ready. */
static int next_block(struct vmt_reader *r, struct vmerr *err)
{
	uint8_t h[VMT_BLOCK_HEADER];
	r->block_off = r->off;
	size_t got = read_some(r, h, sizeof h);
	if (ferror(r->f))
		return read_error(r, err);
	if (got == 0)
		return rerr(r, err, r->block_off, "truncated trace: missing end marker (an interrupted copy or writer? "
			    "regenerate or re-copy the file)");
	if (got < sizeof h)
		return rerr(r, err, r->block_off, "truncated block header (%zu of 16 bytes)", got);
	uint32_t nrec = get_le32(h), usize = get_le32(h + 4), csize = get_le32(h + 8);
	uint32_t crc = get_le32(h + 12);
	uLong have = crc32(0, h, 12);
	if (nrec == 0) {
		if (usize || csize || crc != have)
			return rerr(r, err, r->block_off,
				    "bad end marker (record count 0 with sizes %" PRIu32 "/%" PRIu32 ")",
				    usize, csize);
		uint8_t extra;
		if (read_some(r, &extra, 1) != 0)
			return rerr(r, err, r->off - 1, "data after the end marker");
		if (ferror(r->f))
			return read_error(r, err);
		r->stats.bytes = r->off;
		r->done = 1;
		return 0;
	}
	if (nrec > VMT_MAX_BLOCK_EVENTS)
		return rerr(r, err, r->block_off, "bad record count %" PRIu32 " (at most %u per block)",
			    nrec, VMT_MAX_BLOCK_EVENTS);
	if (usize < nrec || usize > (uint64_t)nrec * VMT_MAX_EVENT_BYTES)
		return rerr(r, err, r->block_off + 4,
			    "bad uncompressed size %" PRIu32 " for %" PRIu32 " records", usize, nrec);
	if (csize == 0 || csize > ZSTD_compressBound(usize))
		return rerr(r, err, r->block_off + 8,
			    "bad compressed size %" PRIu32 " for %" PRIu32 " uncompressed bytes", csize,
			    usize);
	if (csize > r->ccap) {
		uint8_t *b = realloc(r->cbuf, csize);
		if (!b)
			return vmerr_set(err, VM_ENOMEM, "%s: out of memory", r->name);
		r->cbuf = b;
		r->ccap = csize;
	}
	if ((size_t)usize + VMT_PAD > r->rawcap) {
		uint8_t *b = realloc(r->raw, (size_t)usize + VMT_PAD);
		if (!b)
			return vmerr_set(err, VM_ENOMEM, "%s: out of memory", r->name);
		r->raw = b;
		r->rawcap = (size_t)usize + VMT_PAD;
	}
	got = read_some(r, r->cbuf, csize);
	if (ferror(r->f))
		return read_error(r, err);
	if (got < csize)
		return rerr(r, err, r->block_off,
			    "truncated block (%zu of %" PRIu32 " payload bytes present)", got, csize);
	have = crc32(have, r->cbuf, csize);
	if ((uint32_t)have != crc)
		return rerr(r, err, r->block_off,
			    "block checksum mismatch (stored 0x%08" PRIx32 ", computed 0x%08" PRIx32 ")",
			    crc, (uint32_t)have);
	size_t d = ZSTD_decompressDCtx(r->dctx, r->raw, usize, r->cbuf, csize);
	if (ZSTD_isError(d))
		return rerr(r, err, r->block_off, "zstd decompression failed: %s",
			    ZSTD_getErrorName(d));
	if (d != usize)
		return rerr(r, err, r->block_off,
			    "block decompressed to %zu bytes, header says %" PRIu32, d, usize);
	memset(r->raw + usize, 0, VMT_PAD);
	r->p = r->raw;
	r->end = r->raw + usize;
	r->left = r->nrec = nrec;
	pred_reset(&r->st);
	r->stats.blocks++;
	r->stats.payload_bytes += usize;
	r->stats.bytes = r->off;
	return 1;
}

static int bad_record(struct vmt_reader *r, struct vmerr *err, const uint8_t *rec,
		      const char *what, unsigned v)
{
	return rerr(r, err, r->block_off, "block %" PRIu64 ", payload byte %zu: %s %u", r->stats.blocks - 1,
		    (size_t)(rec - r->raw), what, v);
}

/* Decode up to n events of the current block into out. */
static long decode(struct vmt_reader *r, struct vm_event *out, size_t n, struct vmerr *err)
{
	const uint8_t *p = r->p, *end = r->end, *rec = p;
	struct pred s = r->st;
	size_t i = 0;
	uint64_t v;

	if (n > r->left)
		n = r->left;
	while (i < n) {
		rec = p;
		unsigned t = *p++;
		if (VM_LIKELY(!(t & TAG_OTHER))) {
			unsigned op = t & TAG_OP_MASK;
			if (VM_UNLIKELY(op == 3))
				goto bad_access;
			unsigned sc = (t & TAG_SCALED) ? 3 : 0;
			uint64_t a;
			switch ((t & TAG_MODE_MASK) >> TAG_MODE_SHIFT) {
			case MODE_REPEAT:
				a = s.last[op] + s.delta[op];
				break;
			case MODE_SEQ:
				a = s.last[op] + s.size[op];
				break;
			case MODE_SAME:
				a = s.any;
				break;
			case MODE_DOP:
				if (VM_UNLIKELY(!(p = get_varint(p, &v))))
					goto overflow;
				a = s.last[op] + (zz_dec(v) << sc);
				break;
			case MODE_DANY:
				if (VM_UNLIKELY(!(p = get_varint(p, &v))))
					goto overflow;
				a = s.any + (zz_dec(v) << sc);
				break;
			default:
				goto bad_access;
			}
			if (t & TAG_SIZE)
				s.size[op] = *p++;
			s.delta[op] = a - s.last[op];
			s.last[op] = a;
			s.any = a;
			struct vm_event *e = &out[i++];
			e->kind = EV_ACCESS;
			e->op = (uint8_t)op;
			e->size = s.size[op];
			e->vcpu = s.vcpu;
			e->pid = s.pid;
			e->addr = a;
			e->arg = 0;
		} else {
			unsigned k = t & TAG_KIND_MASK;
			if (k == KIND_CONTEXT) {
				if (VM_UNLIKELY(t & TAG_ARG))
					goto bad_other;
				if (t & TAG_PID) {
					if (VM_UNLIKELY(!(p = get_varint(p, &v))))
						goto overflow;
					if (VM_UNLIKELY(v > UINT32_MAX)) {
						r->p = p;
						return bad_record(r, err, rec, "pid out of range: above",
								  UINT32_MAX);
					}
					s.pid = (uint32_t)v;
				}
				if (t & TAG_VCPU)
					s.vcpu = *p++;
			} else {
				if (VM_UNLIKELY(k >= EV_KIND_COUNT))
					goto bad_other;
				struct vm_event *e = &out[i++];
				e->kind = (uint8_t)k;
				e->op = e->size = 0;
				if (t & TAG_OPSIZE) {
					e->op = p[0];
					e->size = p[1];
					p += 2;
				}
				e->vcpu = s.vcpu;
				e->pid = s.pid;
				e->addr = e->arg = 0;
				if ((t & TAG_ADDR) && VM_UNLIKELY(!(p = get_varint(p, &e->addr))))
					goto overflow;
				if ((t & TAG_ARG) && VM_UNLIKELY(!(p = get_varint(p, &e->arg))))
					goto overflow;
			}
		}
		if (VM_UNLIKELY(p > end))
			goto past_end;
		if (VM_UNLIKELY(p == end && r->left - i))
			break; /* checked below */
	}
	r->p = p;
	r->st = s;
	r->left -= (uint32_t)i;
	if (r->left && p == end)
		return rerr(r, err, r->block_off,
			    "block %" PRIu64 ": payload ends after %" PRIu32 " of %" PRIu32 " records",
			    r->stats.blocks - 1, r->nrec - r->left, r->nrec);
	if (!r->left && p != end)
		return rerr(r, err, r->block_off,
			    "block %" PRIu64 ": %zu bytes left after the last record",
			    r->stats.blocks - 1, (size_t)(end - p));
	return (long)i;

bad_access:
	return bad_record(r, err, rec, "bad access record: tag", *rec);
bad_other:
	return bad_record(r, err, rec, "unknown kind in tag", *rec);
overflow:
	return bad_record(r, err, rec, "varint longer than 64 bits in record with tag", *rec);
past_end:
	return bad_record(r, err, rec, "record runs past the end of the block; tag", *rec);
}

long vmt_read(struct vmt_reader *r, struct vm_event *buf, size_t cap, struct vmerr *err)
{
	if (r->err) {
		if (err)
			*err = r->emsg;
		return r->err;
	}
	size_t n = 0;
	while (n < cap && !r->done) {
		if (!r->left) {
			int rc = next_block(r, err);
			if (rc < 0)
				return rc;
			if (rc == 0)
				break;
		}
		long got = decode(r, buf + n, cap - n, err);
		if (got < 0)
			return got;
		n += (size_t)got;
	}
	return (long)n;
}

void vmt_reader_close(struct vmt_reader *r)
{
	if (!r)
		return;
	if (r->f && r->f != stdin)
		fclose(r->f);
	ZSTD_freeDCtx(r->dctx);
	free(r->cbuf);
	free(r->raw);
	free(r);
}

uint64_t vmt_reader_offset(const struct vmt_reader *r) { return r->block_off; }

void vmt_reader_stats(const struct vmt_reader *r, struct vmt_stats *st) { *st = r->stats; }
