/*
 * test_config.c - defaults, INI errors that name file:line and the key,
 * -s overrides, and the cfg_print -> cfg_load round trip.
 */
#include <criterion/criterion.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/config.h"
#include "sim/pt_format.h"
#include "sim/tlb/tlb.h"


static char dir[sizeof VMSIM_BINARY_DIR + 64];
static unsigned nfiles;

static void mkdir_tmp(void)
{
	/* Under the build tree, so a test that stops early leaves nothing in /tmp. */
	cr_assert_eq(system("mkdir -p '" VMSIM_BINARY_DIR "/test-tmp'"), 0);
	snprintf(dir, sizeof dir, "%s/test-tmp/config-XXXXXX", VMSIM_BINARY_DIR);
	cr_assert_not_null(mkdtemp(dir));
}

static void rm_tmp(void)
{
	char cmd[sizeof dir + 16];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(config, .init = mkdir_tmp, .fini = rm_tmp);

/* Write text to a new file; its path stays valid until the test ends. */
static const char *ini(const char *text)
{
	static char path[16][sizeof dir + 16];
	char *p = path[nfiles % 16];
	snprintf(p, sizeof path[0], "%s/c%u.ini", dir, nfiles++);
	FILE *f = fopen(p, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	return p;
}

/* Everything after `source`: what the user configured. */
static int cfg_cmp(const struct cfg *a, const struct cfg *b)
{
	size_t o = offsetof(struct cfg, source) + sizeof a->source;
	return memcmp((const char *)a + o, (const char *)b + o, sizeof *a - o);
}

/* Name the first key whose printed value differs, for messages. */
static const char *first_diff(const struct cfg *a, const struct cfg *b)
{
	static char key[96];
	char va[128], vb[128];
	for (unsigned i = 0; i < cfg_key_count(); i++) {
		cfg_key_name(i, key, sizeof key);
		cfg_get(a, key, va, sizeof va);
		cfg_get(b, key, vb, sizeof vb);
		if (strcmp(va, vb))
			return key;
	}
	return "(no key differs: padding or a field no key sets)";
}

Test(config, defaults)
{
	struct cfg c, d;
	struct vmerr err = {{0}};
	cfg_defaults(&d);
	cr_assert_eq(cfg_load(&c, NULL, NULL, 0, &err), 0, "%s", err.msg);
	cr_assert_eq(cfg_cmp(&c, &d), 0);
	cr_assert_str_eq(c.source, "built-in defaults");
	/* The numbers DESIGN.md and the labs rely on (Skylake client). */
	cr_assert_eq(c.guest_levels, 4);
	cr_assert_eq(c.guest_page, PS_4K);
	cr_assert_eq(c.host_format, PT_EPT);
	cr_assert(c.pcid);
	cr_assert(c.vpid);
	cr_assert(c.pwc_enabled);
	cr_assert(c.l1d_split);
	cr_assert_eq(c.l1d.entries, 64);
	cr_assert_eq(c.l1d.ways, 4);
	cr_assert_eq(c.l2.entries, 1536);
	cr_assert_eq(c.l2.ways, 12);
	cr_assert_eq(c.guest_mem_gb, 4096);
	cr_assert_eq(c.policy, TLB_LRU);
	cr_assert_str_eq(c.name, "skylake-client");
}

Test(config, file_sets_keys)
{
	const char *p = ini("; a comment\n"
			    "[guest]\n"
			    "levels = 5\n"
			    "page = 2M\n"
			    "[tlb]\n"
			    "pcid = off\n"
			    "l2.entries = 2048\n"
			    "l2.ways = 16\n"
			    "policy = plru\n"
			    "[machine]\n"
			    "name = my lab box\n"
			    "freq_mhz = 0x3e8\n");
	struct cfg c;
	struct vmerr err = {{0}};
	cr_assert_eq(cfg_load(&c, p, NULL, 0, &err), 0, "%s", err.msg);
	cr_assert_eq(c.guest_levels, 5);
	cr_assert_eq(c.guest_page, PS_2M);
	cr_assert_not(c.pcid);
	cr_assert_eq(c.l2.entries, 2048);
	cr_assert_eq(c.l2.ways, 16);
	cr_assert_eq(c.policy, TLB_PLRU);
	cr_assert_str_eq(c.name, "my lab box");
	cr_assert_eq(c.freq_mhz, 1000);
	cr_assert_str_eq(c.source, p);
}

struct bad {
	const char *text;
	int line;
	const char *key; /* must appear in the message */
	const char *what;
};

/* Each bad file: VM_EINPUT, a message starting "FILE:LINE: ", naming the key. */
static void expect_bad(const struct bad *b)
{
	const char *p = ini(b->text);
	struct cfg c;
	struct vmerr err = {{0}};
	char want[256];
	int rc = cfg_load(&c, p, NULL, 0, &err);
	cr_assert_eq(rc, VM_EINPUT, "%s: rc %d", b->what, rc);
	snprintf(want, sizeof want, "%s:%d: ", p, b->line);
	cr_assert(strncmp(err.msg, want, strlen(want)) == 0, "%s: message '%s' does not start with '%s'",
		  b->what, err.msg, want);
	cr_assert_not_null(strstr(err.msg, b->key), "%s: message '%s' does not name '%s'", b->what,
			   err.msg, b->key);
	cr_assert_null(strchr(err.msg, '\n'), "one line");
}

Test(config, errors_name_file_line_key)
{
	static const struct bad bads[] = {
		{"[tlb]\npcid = on\n[bogus]\nx = 1\n", 4, "[bogus]", "unknown section"},
		{"[tlb]\npcid = on\nbogus = 1\n", 3, "bogus", "unknown key"},
		{"[tlb]\nl2.entries = lots\n", 2, "tlb.l2.entries", "not a number"},
		{"[tlb]\nl2.entries = 64x\n", 2, "tlb.l2.entries", "trailing junk"},
		{"[tlb]\nl2.entries = -64\n", 2, "tlb.l2.entries", "negative"},
		{"[tlb]\nl2.entries = \n", 2, "tlb.l2.entries", "empty"},
		{"\n\n[guest]\nlevels = 6\n", 4, "guest.levels", "out of range (high)"},
		{"[guest]\nlevels = 3\n", 2, "guest.levels", "out of range (low)"},
		{"[tlb]\nl2.entries = 99999999999999999999\n", 2, "tlb.l2.entries", "overflow"},
		{"[guest]\npage = 3m\n", 2, "guest.page", "bad enum"},
		{"[host]\nformat = arm\n", 2, "host.format", "bad enum"},
		{"[tlb]\npcid = maybe\n", 2, "tlb.pcid", "bad bool"},
		{"[memory]\ndata = on\n", 2, "not built yet", "a part not built"},
		{"[tlb]\npcid = on\nthis line has no equals sign\n", 3, "", "syntax error"},
	};
	for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++)
		expect_bad(&bads[i]);
}

/* A key before any [section] is an error that names the key. */
Test(config, key_outside_section_names_key)
{
	struct bad b = {"pcid = on\n", 1, "pcid", "key before any section"};
	expect_bad(&b);
}

/* Only the first error is reported, at its own line. */
Test(config, first_error_wins)
{
	struct bad b = {"[tlb]\npcid = maybe\n[guest]\nlevels = 9\n", 2, "tlb.pcid", "two errors"};
	expect_bad(&b);
}

/* A cache whose entries are not a multiple of its ways: an error naming the
 * cache, at the line that made it so. */
Test(config, entries_not_multiple_of_ways)
{
	const char *p = ini("[tlb]\nl2.entries = 1000\nl2.ways = 12\n");
	struct cfg c;
	struct vmerr err = {{0}};
	cr_assert_eq(cfg_load(&c, p, NULL, 0, &err), VM_EINPUT);
	cr_assert_not_null(strstr(err.msg, "tlb.l2"), "%s", err.msg);
	cr_assert(strncmp(err.msg, p, strlen(p)) == 0, "%s", err.msg);

	p = ini("[pwc]\npde.entries = 30\n");
	cr_assert_eq(cfg_load(&c, p, NULL, 0, &err), VM_EINPUT);
	cr_assert_not_null(strstr(err.msg, "pwc.pde"), "%s", err.msg);
	p = ini("[tlb]\nl1d.ways = 128\n");
	cr_assert_eq(cfg_load(&c, p, NULL, 0, &err), VM_EINPUT, "more ways than entries");
	cr_assert_not_null(strstr(err.msg, "tlb.l1d"), "%s", err.msg);
	p = ini("[tlb]\nl2.entries = 1536\nl2.ways = 1536\n");
	cr_assert_eq(cfg_load(&c, p, NULL, 0, &err), 0, "fully associative is fine: %s", err.msg);
}

/* The spec asks for file:line on every error, this one included. */
Test(config, entries_not_multiple_of_ways_names_line)
{
	struct bad b = {"[tlb]\nl2.entries = 1000\nl2.ways = 12\n", 3, "tlb.l2", "not multiple"};
	expect_bad(&b);
}

Test(config, cross_key_checks)
{
	struct cfg c;
	struct vmerr err = {{0}};
	const char *p = ini("[host]\nformat = x86\n");
	cr_assert_eq(cfg_load(&c, p, NULL, 0, &err), VM_EINPUT);
	cr_assert_not_null(strstr(err.msg, "host.format"), "%s", err.msg);
	p = ini("[tlb]\nl2.entries = 0\n");
	cr_assert_eq(cfg_load(&c, p, NULL, 0, &err), VM_EINPUT);
	cr_assert_not_null(strstr(err.msg, "tlb.l2.entries"), "%s", err.msg);
	p = ini("[memory]\nl1.kib = 3\nl1.ways = 32\n"); /* 48 lines: not 32-way sets */
	cr_assert_eq(cfg_load(&c, p, NULL, 0, &err), VM_EINPUT);
	cr_assert_not_null(strstr(err.msg, "memory.l1"), "%s", err.msg);
}

Test(config, missing_file)
{
	struct cfg c;
	struct vmerr err = {{0}};
	char p[sizeof dir + 32];
	snprintf(p, sizeof p, "%s/does-not-exist.ini", dir);
	cr_assert_eq(cfg_load(&c, p, NULL, 0, &err), VM_EINPUT);
	cr_assert(strncmp(err.msg, p, strlen(p)) == 0, "%s", err.msg);
}

Test(config, overrides)
{
	const char *p = ini("[tlb]\npcid = on\nl1d.entries = 32\n");
	char *ov[] = {"tlb.pcid=off", "guest.page=1g", "tlb.l2.entries=2048", "tlb.l2.ways=16",
		      "machine.name=a=b"};
	struct cfg c;
	struct vmerr err = {{0}};
	cr_assert_eq(cfg_load(&c, p, ov, 5, &err), 0, "%s", err.msg);
	cr_assert_not(c.pcid, "-s wins over the file");
	cr_assert_eq(c.l1d.entries, 32, "the file wins over the defaults");
	cr_assert_eq(c.guest_page, PS_1G);
	cr_assert_eq(c.l2.entries, 2048);
	cr_assert_str_eq(c.name, "a=b", "only the first '=' separates");
	/* Without a file. */
	cr_assert_eq(cfg_load(&c, NULL, ov, 1, &err), 0, "%s", err.msg);
	cr_assert_not(c.pcid);
	cr_assert_eq(c.l1d.entries, 64);
	/* The last -s of a key wins. */
	char *twice[] = {"tlb.pcid=off", "tlb.pcid=on"};
	cr_assert_eq(cfg_load(&c, NULL, twice, 2, &err), 0);
	cr_assert(c.pcid);
}

Test(config, bad_override_names_itself)
{
	static const char *const bad[] = {"tlb.pcid=maybe", "tlb.bogus=1", "bogus.key=1",
					  "nodot=1",        "tlb.pcid",    "guest.levels=7",
					  "guest.page=8k"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *ov[] = {(char *)bad[i]};
		struct cfg c;
		struct vmerr err = {{0}};
		char want[64];
		snprintf(want, sizeof want, "-s %s", bad[i]);
		cr_assert_eq(cfg_load(&c, NULL, ov, 1, &err), VM_EINPUT, "-s %s", bad[i]);
		cr_assert_not_null(strstr(err.msg, want), "-s %s: message '%s'", bad[i], err.msg);
	}
}

/* A -s that is wrong only together with another key names itself too. */
Test(config, bad_override_combination_names_itself)
{
	char *ov[] = {"tlb.l2.entries=1000"};
	struct cfg c;
	struct vmerr err = {{0}};
	cr_assert_eq(cfg_load(&c, NULL, ov, 1, &err), VM_EINPUT);
	cr_assert_not_null(strstr(err.msg, "-s tlb.l2.entries=1000"), "message '%s'", err.msg);
}

Test(config, cfg_set_and_get)
{
	struct cfg c;
	struct vmerr err = {{0}};
	char buf[128];
	cfg_defaults(&c);
	cr_assert_eq(cfg_set(&c, "tlb.l2.entries", "768", "test", &err), 0, "%s", err.msg);
	cr_assert_eq(c.l2.entries, 768);
	cr_assert_eq(cfg_get(&c, "tlb.l2.entries", buf, sizeof buf), 0);
	cr_assert_str_eq(buf, "768");
	cr_assert_eq(cfg_get(&c, "tlb.pcid", buf, sizeof buf), 0);
	cr_assert_str_eq(buf, "on");
	cr_assert_eq(cfg_get(&c, "guest.page", buf, sizeof buf), 0);
	cr_assert_str_eq(buf, "4k");
	cr_assert_eq(cfg_get(&c, "tlb.nope", buf, sizeof buf), -1);
	cr_assert_eq(cfg_get(&c, "tlb", buf, sizeof buf), -1);
	cr_assert_eq(cfg_set(&c, "guest.mem_gb", "5000000", "here", &err), VM_EINPUT);
	cr_assert(strncmp(err.msg, "here: ", 6) == 0, "%s", err.msg);
	cr_assert_not_null(strstr(err.msg, "guest.mem_gb"));
}

/* Every key, set to its own printed value, leaves the struct as it was; and
 * every key has a distinct name. */
Test(config, every_key_reads_back)
{
	struct cfg a, b;
	struct vmerr err = {{0}};
	char key[96], val[128];
	cfg_defaults(&a);
	cfg_defaults(&b);
	unsigned n = cfg_key_count();
	cr_assert_gt(n, 100u);
	cr_assert_null(cfg_key_name(n, key, sizeof key));
	for (unsigned i = 0; i < n; i++) {
		cr_assert_not_null(cfg_key_name(i, key, sizeof key));
		cr_assert_eq(cfg_get(&a, key, val, sizeof val), 0, "%s", key);
		cr_assert_eq(cfg_set(&b, key, val, "test", &err), 0, "%s=%s: %s", key, val, err.msg);
		for (unsigned j = 0; j < i; j++) {
			char other[96];
			cr_assert_str_neq(cfg_key_name(j, other, sizeof other), key);
		}
	}
	cr_assert_eq(cfg_cmp(&a, &b), 0, "first difference: %s", first_diff(&a, &b));
}

static void round_trip(const struct cfg *c)
{
	char p[sizeof dir + 32];
	snprintf(p, sizeof p, "%s/printed%u.ini", dir, nfiles++);
	FILE *f = fopen(p, "w");
	cr_assert_not_null(f);
	cfg_print(c, f);
	fclose(f);
	struct cfg back;
	struct vmerr err = {{0}};
	cr_assert_eq(cfg_load(&back, p, NULL, 0, &err), 0, "cfg_print output does not load: %s",
		     err.msg);
	cr_assert_eq(cfg_cmp(c, &back), 0, "round trip changed %s", first_diff(c, &back));
	cr_assert_str_eq(back.source, p);
}

Test(config, print_round_trip_defaults)
{
	struct cfg c;
	cfg_defaults(&c);
	round_trip(&c);
}

Test(config, print_round_trip_changed)
{
	char *ov[] = {"guest.levels=5",      "guest.page=1g",     "host.format=npt",
		      "host.levels=5",       "tlb.pcid=off",      "tlb.vpid=off",
		      "tlb.policy=random",   "tlb.l1d.split=off", "tlb.l2.entries=2048",
		      "tlb.l2.ways=16",      "pwc.enabled=off",   "memory.pte=fixed",
		      "memory.pte_latency=7", "guest.mem_gb=123",  "machine.name=lab machine 3",
		      "vmm.prefetch=1",      "cpu.fork_cycles=99999999"};
	struct cfg c;
	struct vmerr err = {{0}};
	cr_assert_eq(cfg_load(&c, NULL, ov, sizeof ov / sizeof ov[0], &err), 0, "%s", err.msg);
	round_trip(&c);
}

Test(config, default_ini_equals_builtin)
{
	const char *p = VMSIM_SOURCE_DIR "/configs/default.ini";
	if (access(p, R_OK) != 0)
		cr_skip_test("configs/default.ini does not exist in this tree yet");
	struct cfg c, d;
	struct vmerr err = {{0}};
	cr_assert_eq(cfg_load(&c, p, NULL, 0, &err), 0, "%s", err.msg);
	cfg_defaults(&d);
	cr_assert_eq(cfg_cmp(&c, &d), 0, "configs/default.ini differs from the built-in defaults "
		     "at %s", first_diff(&c, &d));
}
