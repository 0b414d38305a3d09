/*
 * lackey.c - import `valgrind --tool=lackey --trace-mem=yes` output.
 *
 * Notes:
 *   Lackey prints one memory reference per line (lackey/lk_main.c):
 *       "I  ADDR,SIZE"   instruction fetch
 *       " L ADDR,SIZE"   data load
 *       " S ADDR,SIZE"   data store
 *       " M ADDR,SIZE"   data modify: a load then a store of the same bytes
 *   ADDR is hex (at least 8 digits), SIZE decimal.  Everything else in the
 *   stream (valgrind's "==PID==" commentary, the program's own output when
 *   --log-fd=1 shares its stdout) is skipped.  A line that starts like a
 *   record but does not parse is an error, so that damage is not silently
 *   turned into a shorter trace.
 *
 *   Sizes above 255 (fxsave, xsave and some vector moves report 464..2.5k
 *   bytes) do not fit vm_event.size and are clamped to 255; the first bytes
 *   touched, which decide the page, are unchanged.
 *
 *   Lackey has no thread or process ids: every event gets the caller's pid
 *   and vCPU 0.  The return value counts events, so an M line counts 2.
 */
#include <errno.h>
#include <string.h>

#include "vmt.h"

#define LINE_MAX_LEN 256 /* a record is ~30 bytes; longer lines are not records */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Which record a line starts like: 'I', 'L', 'S', 'M', or 0 for "not a record". */
static int record_kind(const char *s)
{
	if (s[0] == 'I' && s[1] == ' ' && s[2] == ' ')
		return 'I';
	if (s[0] == ' ' && (s[1] == 'L' || s[1] == 'S' || s[1] == 'M') && s[2] == ' ')
		return s[1];
	return 0;
}

/* Parse "ADDR,SIZE" plus trailing blanks; NULL or a description of the fault. */
static const char *parse_rec(const char *s, uint64_t *addr, unsigned *size)
{
	while (*s == ' ')
		s++;
	uint64_t a = 0;
	int nd = 0, h;
	while ((h = hexval((unsigned char)*s)) >= 0) {
		if (++nd > 16)
			return "address has more than 16 hex digits";
		a = a << 4 | (uint64_t)h;
		s++;
	}
	if (!nd)
		return "expected a hex address";
	if (*s != ',')
		return "expected ',' after the address";
	s++;
	unsigned long sz = 0;
	nd = 0;
	while (*s >= '0' && *s <= '9') {
		if (++nd > 9)
			return "size is too large";
		sz = sz * 10 + (unsigned long)(*s - '0');
		s++;
	}
	if (!nd)
		return "expected a decimal size after ','";
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	if (*s)
		return "unexpected text after the size";
	if (sz == 0)
		return "size 0 (sizes are 1..255; larger ones are clamped to 255)";
	*addr = a;
	*size = sz > 255 ? 255 : (unsigned)sz;
	return NULL;
}

long trace_import_lackey(FILE *in, const char *name, uint32_t pid, struct ev_sink *sink,
			 struct vmerr *err)
{
	char line[LINE_MAX_LEN];
	uint64_t lineno = 0;
	long events = 0;

	while (fgets(line, sizeof line, in)) {
		lineno++;
		size_t len = strlen(line);
		int whole = (len && line[len - 1] == '\n') || feof(in);
		int kind = record_kind(line);
		if (!whole) {
			if (kind)
				return vmerr_set(err, VM_EINPUT,
						 "%s:%llu: record line longer than %d bytes", name,
						 (unsigned long long)lineno, LINE_MAX_LEN - 2);
			/* Skip the rest of a long non-record line. */
			while (fgets(line, sizeof line, in)) {
				len = strlen(line);
				if (len && line[len - 1] == '\n')
					break;
			}
			continue;
		}
		if (!kind)
			continue;
		uint64_t addr;
		unsigned size;
		const char *why = parse_rec(line + 3, &addr, &size);
		if (why) {
			if (len && line[len - 1] == '\n')
				line[--len] = 0;
			return vmerr_set(err, VM_EINPUT, "%s:%llu: malformed lackey record '%.60s': %s",
					 name, (unsigned long long)lineno, line, why);
		}
		switch (kind) {
		case 'I':
			ev_sink_put(sink, EV_ACCESS, EV_FETCH, (uint8_t)size, 0, pid, addr, 0);
			events++;
			break;
		case 'L':
			ev_sink_put(sink, EV_ACCESS, EV_LOAD, (uint8_t)size, 0, pid, addr, 0);
			events++;
			break;
		case 'S':
			ev_sink_put(sink, EV_ACCESS, EV_STORE, (uint8_t)size, 0, pid, addr, 0);
			events++;
			break;
		case 'M':
			ev_sink_put(sink, EV_ACCESS, EV_LOAD, (uint8_t)size, 0, pid, addr, 0);
			ev_sink_put(sink, EV_ACCESS, EV_STORE, (uint8_t)size, 0, pid, addr, 0);
			events += 2;
			break;
		}
		if (VM_UNLIKELY(sink->err))
			return vmerr_set(err, sink->err, "%s:%llu: the trace consumer failed", name,
					 (unsigned long long)lineno);
	}
	if (ferror(in))
		return vmerr_set(err, VM_EIO, "%s:%llu: read failed: %s", name,
				 (unsigned long long)lineno, strerror(errno));
	if (ev_sink_flush(sink) < 0)
		return vmerr_set(err, sink->err, "%s: the trace consumer failed", name);
	return events;
}
