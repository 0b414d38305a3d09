/*
 * cmd_walk.c - `vmsim walk`: run a stream, then explain every memory
 * reference of one translation, the way a lecture slide would.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../pt_format.h"
#include "cli.h"
#include "common.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vmsim walk [-c CONFIG] -m MODE [-s KEY=VALUE]... [--cold] [--json]\n"
		"                  (-w WORKLOAD[:k=v,...] | -t TRACE) [--va ADDR] [--pid P]\n\n"
		"Run the stream, then translate ADDR (default: the first address the stream\n"
		"touched) as the hardware would on a TLB miss, and print every memory\n"
		"reference in order: dimension and level, the address read, the entry, and\n"
		"where it was served.  Under nested paging a grid of guest levels against host\n"
		"levels follows.  The last line is 'references: N'.\n\n"
		"  -m MODE     %s\n"
		"  --cold      empty every TLB, paging-structure cache, nested TLB and data cache\n"
		"              first, so the walk pays for every reference (caches then fill\n"
		"              during the walk itself; to see what a warm cache saves, compare\n"
		"              runs without --cold, or switch caches off with -s)\n"
		"  --va ADDR   virtual address to translate (hex with 0x, or decimal)\n"
		"  --pid P     process whose address space to use (default: the first one)\n"
		"  --json      {\"refs\": N, \"steps\": [...]} and the result\n",
		mmu_names());
}

static const char *level_name(const struct pt_format *f, unsigned level)
{
	static const char *const x86[] = {"PT", "PD", "PDPT", "PML4", "PML5"};
	static const char *const ept[] = {"EPT PT", "EPT PD", "EPT PDPT", "EPT PML4", "EPT PML5"};
	static const char *const npt[] = {"nPT", "nPD", "nPDPT", "nPML4", "nPML5"};
	if (level > 4)
		return "?";
	return f->kind == PT_EPT ? ept[level] : f->kind == PT_NPT ? npt[level] : x86[level];
}

static const char *const dim_names[] = {"guest", "host", "shadow"};
static const char *const src_names[] = {"L1", "L2", "L3", "memory", "fixed"};

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 0);
	if (errno || end == s || *end)
		return -1;
	*v = x;
	return 0;
}

/* The 2D grid: rows are guest levels then the final guest-physical address,
 * columns are host levels then the guest entry itself. */
static void print_grid(FILE *f, const struct walk_rec *rec, const struct pt_format *gf,
		       const struct pt_format *hf)
{
	unsigned n = gf->levels, m = hf->levels;
	char cell[6][7] = {{0}};
	memset(cell, '.', sizeof cell);
	unsigned pending[8], np = 0;
	for (unsigned i = 0; i < rec->n; i++) {
		const struct walk_ref *r = &rec->ref[i];
		if (r->dim == WALK_HOST) {
			if (np < 8)
				pending[np++] = r->level;
			continue;
		}
		unsigned row = n - 1 - r->level;
		for (unsigned k = 0; k < np; k++)
			cell[row][m - 1 - pending[k]] = 'x';
		cell[row][m] = 'G';
		np = 0;
	}
	for (unsigned k = 0; k < np; k++)
		cell[n][m - 1 - pending[k]] = 'x';

	fprintf(f, "\n2D walk: rows are guest levels, columns host levels (x = host reference,\n"
		   "G = the guest entry read, . = skipped by a cache or a large page)\n\n");
	fprintf(f, "  %-8s", "");
	for (unsigned c = 0; c < m; c++)
		fprintf(f, " %-9s", level_name(hf, m - 1 - c));
	fprintf(f, " %s\n", "guest");
	for (unsigned r = 0; r <= n; r++) {
		fprintf(f, "  %-8s", r < n ? level_name(gf, n - 1 - r) : "gPA");
		for (unsigned c = 0; c <= m; c++)
			fprintf(f, " %-9c", (r == n && c == m) ? ' ' : cell[r][c]);
		fputc('\n', f);
	}
}

int cmd_walk(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"json", no_argument, NULL, 'J'}, {"cold", no_argument, NULL, 'K'},
		{"va", required_argument, NULL, 'V'}, {"pid", required_argument, NULL, 'P'},
		{"help", no_argument, NULL, 'h'}, {0}};
	struct run_args a = {0};
	bool cold = false, have_va = false, have_pid = false;
	uint64_t va = 0, pid = 0;
	int opt;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORT "h", longopts, NULL)) != -1) {
		int r = cli_common_opt("walk", &a, opt, optarg);
		if (r < 0)
			return 2;
		if (r)
			continue;
		switch (opt) {
		case 'J': a.json = true; break;
		case 'K': cold = true; break;
		case 'V':
			if (parse_u64(optarg, &va) < 0)
				return cli_usage_error("walk", "--va '%s' is not an address", optarg);
			have_va = true;
			break;
		case 'P':
			if (parse_u64(optarg, &pid) < 0 || pid > UINT32_MAX)
				return cli_usage_error("walk", "--pid '%s' is not a process id", optarg);
			have_pid = true;
			break;
		case 'h': usage(stdout); return 0;
		default:
			return cli_usage_error("walk", "unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("walk", "unexpected argument '%s'", argv[optind]);
	if (!a.mode)
		return cli_usage_error("walk", "-m MODE is required (%s)", mmu_names());

	struct vmerr err = {{0}};
	struct cfg cfg;
	const struct mmu_ops *mode;
	int rc = cli_setup("walk", &a, &cfg, &mode, &err);
	if (rc < 0)
		return cli_fail(rc, &err);
	struct sim *s = sim_new(&cfg, mode, &err);
	if (!s)
		return cli_fail(VM_EINPUT, &err);
	char ident[512];
	rc = cli_feed(&a, s, ident, sizeof ident, &err);
	if (rc < 0) {
		sim_free(s);
		return cli_fail(rc, &err);
	}
	if (!s->have_first && !have_va) {
		sim_free(s);
		vmerr_set(&err, VM_EINPUT, "%s touched no memory: give --va and --pid", ident);
		return cli_fail(VM_EINPUT, &err);
	}
	if (!have_va)
		va = s->first_va;
	if (!have_pid)
		pid = s->have_first ? s->first_pid : 1;
	if (!gos_find(s->os, (uint32_t)pid)) {
		sim_free(s);
		vmerr_set(&err, VM_EINPUT, "process %" PRIu64 " does not exist at the end of %s", pid, ident);
		return cli_fail(VM_EINPUT, &err);
	}
	if (cold)
		sim_cold(s);

	struct walk_rec *rec = calloc(1, sizeof *rec);
	struct mmu_fill fill = {0};
	rc = rec ? sim_explain(s, (uint32_t)pid, va, rec, &fill, &err) : VM_ENOMEM;
	if (rc < 0) {
		free(rec);
		sim_free(s);
		return cli_fail(rc, &err);
	}
	bool faulted = rc == MMU_GUEST_FAULT;
	const struct pt_format *gf = s->gfmt;
	const struct pt_format *hf = pt_format_get((enum pt_kind)cfg.host_format, cfg.host_levels);
	const struct pt_format *fmt_of[3] = {gf, hf, gf};
	uint64_t pa = fill.pa_page + (va & (ps_bytes(fill.ps) - 1));

	if (a.json) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "mode", mode->name);
		cJSON_AddStringToObject(o, "workload", ident);
		char buf[32];
		snprintf(buf, sizeof buf, "0x%" PRIx64, va);
		cJSON_AddStringToObject(o, "va", buf);
		cJSON_AddNumberToObject(o, "pid", (double)pid);
		cJSON_AddBoolToObject(o, "cold", cold);
		cJSON_AddBoolToObject(o, "fault", faulted);
		if (!faulted) {
			snprintf(buf, sizeof buf, "0x%" PRIx64, pa);
			cJSON_AddStringToObject(o, "pa", buf);
			cJSON_AddStringToObject(o, "page_size", ps_name(fill.ps));
		}
		cJSON_AddNumberToObject(o, "refs", rec->n);
		cJSON *steps = cJSON_AddArrayToObject(o, "steps");
		for (unsigned i = 0; i < rec->n; i++) {
			const struct walk_ref *r = &rec->ref[i];
			cJSON *st = cJSON_CreateObject();
			cJSON_AddStringToObject(st, "dim", dim_names[r->dim]);
			cJSON_AddNumberToObject(st, "level", r->level);
			cJSON_AddStringToObject(st, "level_name", level_name(fmt_of[r->dim], r->level));
			snprintf(buf, sizeof buf, "0x%" PRIx64, r->entry_addr);
			cJSON_AddStringToObject(st, "entry", buf);
			snprintf(buf, sizeof buf, "0x%" PRIx64, r->entry_pa);
			cJSON_AddStringToObject(st, "read_at", buf);
			snprintf(buf, sizeof buf, "0x%016" PRIx64, r->value);
			cJSON_AddStringToObject(st, "value", buf);
			cJSON_AddStringToObject(st, "served", src_names[r->src < WS_COUNT ? r->src : 0]);
			cJSON_AddNumberToObject(st, "cycles", r->cycles);
			cJSON_AddItemToArray(steps, st);
		}
		char *txt = cJSON_PrintUnformatted(o);
		printf("%s\n", txt);
		free(txt);
		cJSON_Delete(o);
	} else {
		printf("vmsim walk: mode %s, %s, address 0x%" PRIx64 " of process %" PRIu64 "%s\n",
		       mode->name, ident, va, pid, cold ? " (cold caches)" : "");
		printf("guest table %s", gf->name);
		if (!strcmp(mode->name, "nested"))
			printf(", host table %s", hf->name);
		printf("\n\n");
		for (unsigned i = 0; i < rec->nnotes; i++) {
			const struct walk_note *nt = &rec->note[i];
			static const char *const cache[] = {"", "PDE", "PDPTE", "PML4E", "PML5E"};
			if (nt->pwc_level > 0 && nt->pwc_level < 5)
				printf("  note: the %s walk of 0x%" PRIx64 " starts at the %s: its %s%s "
				       "came from the paging-structure cache\n",
				       dim_names[nt->dim], nt->addr,
				       level_name(fmt_of[nt->dim], (unsigned)nt->pwc_level - 1),
				       nt->dim == WALK_HOST ? "host " : "", cache[nt->pwc_level]);
		}
		printf("  %3s  %-6s %-9s %-18s %-18s %-18s %-6s %s\n", "#", "dim", "level",
		       "entry address", "read at (phys)", "entry value", "from", "cycles");
		for (unsigned i = 0; i < rec->n; i++) {
			const struct walk_ref *r = &rec->ref[i];
			printf("  %3u  %-6s %-9s 0x%016" PRIx64 " 0x%016" PRIx64 " 0x%016" PRIx64
			       " %-6s %u\n",
			       i + 1, dim_names[r->dim], level_name(fmt_of[r->dim], r->level),
			       r->entry_addr, r->entry_pa, r->value,
			       src_names[r->src < WS_COUNT ? r->src : 0], r->cycles);
		}
		if (!strcmp(mode->name, "nested"))
			print_grid(stdout, rec, gf, hf);
		printf("\n");
		if (faulted)
			printf("result: page fault: process %" PRIu64 " has no mapping of 0x%" PRIx64
			       " that allows a user read\n", pid, va);
		else
			printf("result: 0x%" PRIx64 " -> physical 0x%" PRIx64 " (%s page)\n", va, pa,
			       ps_name(fill.ps));
		printf("references: %u\n", rec->n);
	}
	free(rec);
	sim_free(s);
	return 0;
}
