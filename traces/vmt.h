/*
 * vmt.h - the .vmt trace format: reading, writing, and the importers.
 *
 * The byte layout is specified in traces/FORMAT.md; this header is the API.
 * Writers never leave a partial file: they write PATH.tmp.<pid> and rename it
 * to PATH on vmt_writer_close(); vmt_writer_abort() removes it.
 * Readers report corruption as VM_EINPUT with "FILE: offset N: what".
 */
#ifndef VMSIM_VMT_H
#define VMSIM_VMT_H

#include <stdio.h>

#include "../sim/error.h"
#include "../sim/event.h"

#define VMT_NAME_MAX 64
#define VMT_PARAMS_MAX 256

struct vmt_meta {
	uint32_t version; /* filled by the reader; writers write the current one */
	uint32_t flags;
	char workload[VMT_NAME_MAX]; /* "gups", "lackey", "champsim", ... */
	char params[VMT_PARAMS_MAX]; /* "mb=64,updates=1000" */
	uint64_t seed;
};

struct vmt_writer;
struct vmt_reader;

/* path "-" writes to stdout (no rename then). */
struct vmt_writer *vmt_writer_open(const char *path, const struct vmt_meta *meta,
				   struct vmerr *err);
int vmt_write(struct vmt_writer *w, const struct vm_event *ev, size_t n, struct vmerr *err);
/* Flush, close, rename into place.  0 or negative; on error the file is removed. */
int vmt_writer_close(struct vmt_writer *w, struct vmerr *err);
void vmt_writer_abort(struct vmt_writer *w);
/* Totals so far: records written and compressed bytes written (header included). */
uint64_t vmt_writer_records(const struct vmt_writer *w);
uint64_t vmt_writer_bytes(const struct vmt_writer *w);

/* End the current block now (blocks otherwise hold 65536 events).  After it,
 * vmt_writer_bytes() plus VMT_END_BYTES is what the file will hold. */
int vmt_writer_flush(struct vmt_writer *w, struct vmerr *err);
#define VMT_END_BYTES 16

/* The writer's first error (sticky), with its message; 0 if none.  Lets a
 * caller that wrote through vmt_sink_flush() report what went wrong. */
int vmt_writer_error(const struct vmt_writer *w, struct vmerr *err);

/* An ev_sink flush function that writes to a struct vmt_writer (arg). */
int vmt_sink_flush(void *writer, const struct vm_event *ev, size_t n);

struct vmt_reader *vmt_reader_open(const char *path, struct vmt_meta *meta, struct vmerr *err);
/* Fill buf with up to cap events: the count, 0 at the clean end, or negative. */
long vmt_read(struct vmt_reader *r, struct vm_event *buf, size_t cap, struct vmerr *err);
void vmt_reader_close(struct vmt_reader *r);
/* Offset in the file of the block being decoded (for messages). */
uint64_t vmt_reader_offset(const struct vmt_reader *r);

/* What the reader has consumed so far (complete once vmt_read returned 0). */
struct vmt_stats {
	uint64_t blocks;        /* data blocks decoded */
	uint64_t bytes;         /* file bytes consumed: header, blocks, end marker */
	uint64_t payload_bytes; /* decompressed record bytes */
};
void vmt_reader_stats(const struct vmt_reader *r, struct vmt_stats *st);

/*
 * Importers push events into a sink.  name is the input's name for messages
 * ("-" or "<stdin>" for a pipe).  They return the number of records imported
 * or a negative code with "NAME:LINE: what" (lackey) / "NAME: offset N: what"
 * (ChampSim).
 */
long trace_import_lackey(FILE *in, const char *name, uint32_t pid, struct ev_sink *sink,
			 struct vmerr *err);
/* ChampSim input_instr records (raw, .xz or .gz, by magic bytes). */
long trace_import_champsim(const char *path, uint32_t pid, struct ev_sink *sink,
			   struct vmerr *err);

#endif
