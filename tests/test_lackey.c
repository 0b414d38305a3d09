/* test_lackey.c - importing valgrind lackey output. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "traces/vmt.h"

#define SAMPLE VMSIM_SOURCE_DIR "/traces/samples/small.lackey"

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

static struct vm_event batch[64];

/* Import text (or a file) into c; returns what the importer returned. */
static long import_text(const char *text, struct collect *c, struct vmerr *err)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	cr_assert_not_null(f);
	struct ev_sink sink = {.buf = batch, .cap = VM_ARRAY_SIZE(batch), .flush = collect_flush,
			       .arg = c};
	long n = trace_import_lackey(f, "mem", 7, &sink, err);
	fclose(f);
	return n;
}

/* The test's own reading of a lackey line: prefix, strtoull, strtoul. */
static int simple_parse(const char *line, int *op, uint64_t *addr, unsigned *size)
{
	static const struct {
		const char *prefix;
		int op;
	} pre[] = {{"I  ", EV_FETCH}, {" L ", EV_LOAD}, {" S ", EV_STORE}, {" M ", 3}};
	for (size_t i = 0; i < VM_ARRAY_SIZE(pre); i++) {
		if (strncmp(line, pre[i].prefix, 3) != 0)
			continue;
		char *end;
		*addr = strtoull(line + 3, &end, 16);
		cr_assert_eq(*end, ',', "line '%s'", line);
		*size = (unsigned)strtoul(end + 1, NULL, 10);
		*op = pre[i].op;
		return 1;
	}
	return 0;
}

Test(lackey, sample_matches_an_independent_reading)
{
	size_t cap = 20000;
	struct collect want = {.ev = calloc(cap, sizeof(struct vm_event)), .cap = cap};
	struct collect got = {.ev = calloc(cap, sizeof(struct vm_event)), .cap = cap};
	FILE *f = fopen(SAMPLE, "r");
	cr_assert_not_null(f, "%s", SAMPLE);
	char line[512];
	unsigned long lines = 0, nI = 0, nL = 0, nS = 0, nM = 0;
	while (fgets(line, sizeof line, f)) {
		int op;
		uint64_t addr;
		unsigned size;
		lines++;
		if (!simple_parse(line, &op, &addr, &size))
			continue;
		struct vm_event e = {.kind = EV_ACCESS, .size = (uint8_t)size, .pid = 1, .addr = addr};
		if (op == 3) {
			nM++;
			e.op = EV_LOAD;
			want.ev[want.n++] = e;
			e.op = EV_STORE;
		} else {
			e.op = (uint8_t)op;
			*(op == EV_FETCH ? &nI : op == EV_LOAD ? &nL : &nS) += 1;
		}
		want.ev[want.n++] = e;
	}
	cr_assert_eq(lines, 4584);
	cr_assert_eq(nI, 3527);
	cr_assert_eq(nL, 436);
	cr_assert_eq(nS, 505);
	cr_assert_eq(nM, 91);
	cr_assert_eq(want.n, 4650);

	rewind(f);
	struct vmerr err = {{0}};
	struct ev_sink sink = {.buf = batch, .cap = VM_ARRAY_SIZE(batch), .flush = collect_flush,
			       .arg = &got};
	long n = trace_import_lackey(f, "small.lackey", 1, &sink, &err);
	fclose(f);
	cr_assert_eq(n, 4650, "%ld: %s", n, err.msg);
	cr_assert_eq(got.n, 4650);
	for (size_t i = 0; i < want.n; i++)
		cr_assert(memcmp(&want.ev[i], &got.ev[i], sizeof want.ev[i]) == 0,
			  "event %zu: want op %u addr 0x%" PRIx64 " size %u, got op %u addr 0x%" PRIx64
			  " size %u",
			  i, want.ev[i].op, want.ev[i].addr, want.ev[i].size, got.ev[i].op,
			  got.ev[i].addr, got.ev[i].size);

	/* The first records of the file, checked by hand. */
	cr_assert_eq(got.ev[0].op, EV_FETCH);
	cr_assert_eq(got.ev[0].addr, 0x0401ab70);
	cr_assert_eq(got.ev[0].size, 3);
	cr_assert_eq(got.ev[1].addr, 0x0401ab73);
	cr_assert_eq(got.ev[1].size, 5);
	cr_assert_eq(got.ev[2].op, EV_STORE);
	cr_assert_eq(got.ev[2].addr, 0x1fff000628);
	cr_assert_eq(got.ev[2].size, 8);
	free(want.ev);
	free(got.ev);
}

Test(lackey, kinds_sizes_and_skipped_lines)
{
	struct vm_event ev[16];
	struct collect c = {.ev = ev, .cap = 16};
	struct vmerr err = {{0}};
	char longline[2000];
	memset(longline, 'x', sizeof longline - 2);
	longline[sizeof longline - 2] = '\n';
	longline[sizeof longline - 1] = 0;
	char text[4000];
	snprintf(text, sizeof text,
		 "==123== Lackey, an example Valgrind tool\n"
		 "I am program output, not a record\n"
		 "\n"
		 "%s"
		 "I  0400d7d4,8\n"
		 " L 04222cac,4\r\n"
		 " S ffffffffffffffff,1\n"
		 " M 0421e2c8,512\n"
		 "sum 8064\n"
		 "I  0,255",
		 longline);
	long n = import_text(text, &c, &err);
	cr_assert_eq(n, 6, "%ld: %s", n, err.msg);
	cr_assert_eq(c.n, 6);
	cr_assert_eq(ev[0].op, EV_FETCH);
	cr_assert_eq(ev[0].addr, 0x0400d7d4);
	cr_assert_eq(ev[0].size, 8);
	cr_assert_eq(ev[0].pid, 7);
	cr_assert_eq(ev[0].vcpu, 0);
	cr_assert_eq(ev[1].op, EV_LOAD);
	cr_assert_eq(ev[1].size, 4);
	cr_assert_eq(ev[2].op, EV_STORE);
	cr_assert_eq(ev[2].addr, UINT64_MAX);
	cr_assert_eq(ev[3].op, EV_LOAD);
	cr_assert_eq(ev[3].size, 255); /* 512 clamped */
	cr_assert_eq(ev[4].op, EV_STORE);
	cr_assert_eq(ev[4].addr, 0x0421e2c8);
	/* The last line has no newline and is still a record. */
	cr_assert_eq(ev[5].op, EV_FETCH);
	cr_assert_eq(ev[5].addr, 0);
	cr_assert_eq(ev[5].size, 255);
}

Test(lackey, last_line_without_newline)
{
	struct vm_event ev[4];
	struct collect c = {.ev = ev, .cap = 4};
	struct vmerr err = {{0}};
	cr_assert_eq(import_text("I  10,4\n L 20,2", &c, &err), 2, "%s", err.msg);
	cr_assert_eq(ev[1].addr, 0x20);
	cr_assert_eq(ev[1].size, 2);
}

static void expect_error(const char *text, const char *where, const char *what)
{
	struct vm_event ev[16];
	struct collect c = {.ev = ev, .cap = 16};
	struct vmerr err = {{0}};
	long n = import_text(text, &c, &err);
	cr_assert_eq(n, VM_EINPUT, "'%s': %ld", text, n);
	cr_assert(strncmp(err.msg, where, strlen(where)) == 0, "'%s': message '%s', wanted '%s'",
		  text, err.msg, where);
	cr_assert(strstr(err.msg, what), "'%s': message '%s' lacks '%s'", text, err.msg, what);
}

Test(lackey, malformed_records_name_the_line)
{
	expect_error("==1== hi\nI  0400d7d4,8\n L zz,8\n", "mem:3: ", "expected a hex address");
	expect_error(" L 0400d7d4\n", "mem:1: ", "expected ','");
	expect_error(" S 0400d7d4,\n", "mem:1: ", "decimal size");
	expect_error(" S 0400d7d4,0\n", "mem:1: ", "size 0");
	expect_error(" M 10,8 junk\n", "mem:1: ", "unexpected text");
	expect_error("I  12345678123456789,4\n", "mem:1: ", "16 hex digits");
	expect_error("I  10,99999999999\n", "mem:1: ", "too large");
	char text[600];
	memset(text, ' ', sizeof text);
	memcpy(text, "I  ", 3);
	strcpy(text + 500, "10,4\n");
	expect_error(text, "mem:1: ", "longer than");
}

static int failing_flush(void *arg, const struct vm_event *ev, size_t n)
{
	(void)ev;
	(void)n;
	++*(int *)arg;
	return VM_EIO;
}

Test(lackey, a_failing_consumer_stops_the_import)
{
	int calls = 0;
	struct vmerr err = {{0}};
	const char *text = "I  1,1\nI  2,1\nI  3,1\nI  4,1\n";
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	struct vm_event small[1];
	struct ev_sink sink = {.buf = small, .cap = 1, .flush = failing_flush, .arg = &calls};
	long n = trace_import_lackey(f, "mem", 1, &sink, &err);
	fclose(f);
	cr_assert_eq(n, VM_EIO);
	cr_assert_eq(calls, 1);
	cr_assert(strncmp(err.msg, "mem:2: ", 7) == 0, "%s", err.msg);
}
