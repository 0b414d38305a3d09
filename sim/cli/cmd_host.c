/* cmd_host.c - `vmsim host`: several VMs on one host sharing its memory. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../host.h"
#include "../pt_format.h"
#include "cli.h"
#include "common.h"

#define MAX_VMS 64

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vmsim host [-c CONFIG] [-m MODE] --vm SPEC [--vm SPEC]... [--host-mem MIB]\n"
		"                  [--reclaim balloon|swap] [--balloon static|auto] [--quantum N]\n"
		"                  [-s SECTION.KEY=VALUE]... [--json | --csv] [-o FILE] [--check]\n\n"
		"Run several VMs on one host CPU, round-robin, sharing the host's memory, and\n"
		"report each VM's statistics and the host's totals (run time = the sum of the\n"
		"VMs' cycles, swap traffic, double paging).\n\n"
		"  --vm SPEC        one VM (repeat for each, at most %d):\n"
		"                     WORKLOAD[:k=v,...]@MEMORY[/MAXMEM]   a built-in workload\n"
		"                     trace:FILE@MEMORY[/MAXMEM]           a .vmt trace\n"
		"                   MAXMEM (MiB) is the guest-physical memory the guest sees and\n"
		"                   may fill before it swaps; MEMORY (MiB, at most MAXMEM) is the\n"
		"                   host's target for it: the balloon takes MAXMEM - MEMORY back\n"
		"                   under host pressure.  MAXMEM defaults to MEMORY.\n"
		"  --host-mem MIB   host memory the VMs share (overcommit.host_mib); default: none\n"
		"                   (no reclaim).  Host page tables and shadow tables count too.\n"
		"  --reclaim R      balloon: inflate the guests' balloons to their targets when free\n"
		"                   host memory runs low, and host-swap only when that is not\n"
		"                   enough; swap: host swapping only (overcommit.reclaim)\n"
		"  --balloon P      static: targets are each VM's MEMORY; auto: targets follow\n"
		"                   sampled working sets (overcommit.balloon)\n"
		"  --quantum N      events a VM runs before the host switches VMs (vmswitch.quantum)\n"
		"  -c CONFIG        machine profile (INI); default: built-in\n"
		"  -m MODE          bt, vtx, nested (ept, npt) or pv; default nested\n"
		"  -s KEY=VALUE     override one config key for every VM (see 'vmsim config')\n"
		"  --json           one JSON object: {\"host\": ..., \"vms\": [...], \"total\": ...}\n"
		"  --csv            a header, one row per VM and a row with vm=total\n"
		"  -o FILE          write the report to FILE (only if the run completes)\n"
		"  --check          compare every access's guest-physical address with a software\n"
		"                   walk of the guest's tables (slow; for testing the model)\n\n"
		"Example: two VMs of 768 MiB on 1024 MiB, ballooned to 480 MiB each:\n"
		"  vmsim host -m nested --host-mem 1024 --vm gups:mb=600@480/768 --vm gups:mb=600@480/768\n",
		MAX_VMS);
}

struct vm_spec {
	char src[512];
	bool trace;
	uint64_t memory, maxmem;
	char ident[640];
};

static int parse_mib(const char *s, uint64_t *v)
{
	char *end;
	if (!*s || *s == '-')
		return -1;
	unsigned long long x = strtoull(s, &end, 10);
	if (*end || x == 0 || x > (1ull << 30))
		return -1;
	*v = x;
	return 0;
}

static int parse_vm(const char *arg, struct vm_spec *v)
{
	const char *at = strrchr(arg, '@');
	if (!at)
		return cli_usage_error("host", "--vm %s: expected WORKLOAD@MEMORY[/MAXMEM] (MiB)", arg);
	size_t n = (size_t)(at - arg);
	if (n == 0 || n >= sizeof v->src)
		return cli_usage_error("host", "--vm %s: no workload before '@'", arg);
	memcpy(v->src, arg, n);
	v->src[n] = 0;
	v->trace = !strncmp(v->src, "trace:", 6);
	char mem[64];
	snprintf(mem, sizeof mem, "%s", at + 1);
	char *slash = strchr(mem, '/');
	if (slash)
		*slash = 0;
	if (parse_mib(mem, &v->memory) < 0)
		return cli_usage_error("host", "--vm %s: MEMORY '%s' is not a positive number of MiB", arg,
				       mem);
	v->maxmem = v->memory;
	if (slash && parse_mib(slash + 1, &v->maxmem) < 0)
		return cli_usage_error("host", "--vm %s: MAXMEM '%s' is not a positive number of MiB", arg,
				       slash + 1);
	if (v->memory > v->maxmem)
		return cli_usage_error("host", "--vm %s: MEMORY %" PRIu64 " MiB exceeds MAXMEM %" PRIu64
				       " MiB", arg, v->memory, v->maxmem);
	return 0;
}

static const char *reclaim_name(const struct cfg *c) { return c->reclaim == RECLAIM_SWAP ? "swap" : "balloon"; }
static const char *balloon_name(const struct cfg *c) { return c->balloon_policy == BALLOON_AUTO ? "auto" : "static"; }

static void add_stats(struct stats *sum, const struct stats *s)
{
	uint64_t *a = (uint64_t *)sum;
	const uint64_t *b = (const uint64_t *)s;
	for (unsigned i = 0; i < stats_count(); i++)
		a[i] += b[i];
}

struct report {
	const char *mode, *config;
	const struct cfg *hc;
	struct host *h;
	const struct vm_spec *vm;
	unsigned n;
	struct stats total;
};

static void print_csv(const struct report *r, FILE *f)
{
	fputs("vm,mode,workload,memory_mib,maxmem_mib,host_mib,reclaim,balloon,quantum,config", f);
	for (unsigned i = 0; i < stats_count(); i++)
		fprintf(f, ",%s", stats_name(i));
	fputs(",cycles,cycles_per_access,resident_pages,host_swapped_pages,balloon_pages,host_peak_bytes\n", f);
	struct host_meminfo hm;
	host_meminfo(r->h, &hm);
	uint64_t res = 0, swp = 0, bal = 0;
	for (unsigned i = 0; i <= r->n; i++) {
		const struct stats *st = i < r->n ? &host_vm(r->h, i)->st : &r->total;
		struct host_vm_meminfo vm = {0};
		struct gos_meminfo gm = {0};
		if (i < r->n) {
			host_vm_meminfo(r->h, i, &vm);
			gos_meminfo(host_vm(r->h, i)->os, &gm);
			res += vm.resident;
			swp += vm.swapped;
			bal += gm.balloon_pages;
			fprintf(f, "%u,%s,", i, r->mode);
			stats_csv_field(f, r->vm[i].ident);
			fprintf(f, ",%" PRIu64 ",%" PRIu64, r->vm[i].memory, r->vm[i].maxmem);
		} else {
			uint64_t m = 0, mx = 0;
			for (unsigned j = 0; j < r->n; j++) {
				m += r->vm[j].memory;
				mx += r->vm[j].maxmem;
			}
			fprintf(f, "total,%s,all,%" PRIu64 ",%" PRIu64, r->mode, m, mx);
			vm.resident = res;
			vm.swapped = swp;
			gm.balloon_pages = bal;
		}
		fprintf(f, ",%" PRIu64 ",%s,%s,%u,", r->hc->host_mib, reclaim_name(r->hc), balloon_name(r->hc),
			r->hc->vm_quantum);
		stats_csv_field(f, r->config);
		for (unsigned k = 0; k < stats_count(); k++)
			fprintf(f, ",%" PRIu64, stats_value(st, k));
		fprintf(f, ",%" PRIu64 ",%.4f,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 "\n",
			stats_cycles(st), stats_cycles_per_access(st), vm.resident, vm.swapped,
			gm.balloon_pages, hm.peak_bytes);
	}
}

static cJSON *stats_json(const struct stats *st)
{
	cJSON *o = cJSON_CreateObject();
	for (unsigned k = 0; o && k < stats_count(); k++)
		cJSON_AddNumberToObject(o, stats_name(k), (double)stats_value(st, k));
	if (o) {
		cJSON_AddNumberToObject(o, "cycles", (double)stats_cycles(st));
		cJSON_AddNumberToObject(o, "cycles_per_access", stats_cycles_per_access(st));
	}
	return o;
}

static int print_json(const struct report *r, FILE *f)
{
	struct host_meminfo hm;
	host_meminfo(r->h, &hm);
	cJSON *o = cJSON_CreateObject(), *host = cJSON_AddObjectToObject(o, "host");
	cJSON *vms = cJSON_AddArrayToObject(o, "vms");
	if (!o || !host || !vms) {
		cJSON_Delete(o);
		return -1;
	}
	cJSON_AddStringToObject(host, "mode", r->mode);
	cJSON_AddStringToObject(host, "config", r->config);
	cJSON_AddNumberToObject(host, "host_mib", (double)r->hc->host_mib);
	cJSON_AddStringToObject(host, "reclaim", reclaim_name(r->hc));
	cJSON_AddStringToObject(host, "balloon", balloon_name(r->hc));
	cJSON_AddNumberToObject(host, "quantum", r->hc->vm_quantum);
	cJSON_AddNumberToObject(host, "used_bytes", (double)hm.used_bytes);
	cJSON_AddNumberToObject(host, "peak_bytes", (double)hm.peak_bytes);
	for (unsigned i = 0; i < r->n; i++) {
		struct host_vm_meminfo vm;
		struct gos_meminfo gm;
		host_vm_meminfo(r->h, i, &vm);
		gos_meminfo(host_vm(r->h, i)->os, &gm);
		cJSON *v = cJSON_CreateObject();
		if (!v)
			break;
		cJSON_AddNumberToObject(v, "vm", i);
		cJSON_AddStringToObject(v, "workload", r->vm[i].ident);
		cJSON_AddNumberToObject(v, "memory_mib", (double)r->vm[i].memory);
		cJSON_AddNumberToObject(v, "maxmem_mib", (double)r->vm[i].maxmem);
		cJSON_AddNumberToObject(v, "resident_pages", (double)vm.resident);
		cJSON_AddNumberToObject(v, "host_swapped_pages", (double)vm.swapped);
		cJSON_AddNumberToObject(v, "balloon_pages", (double)gm.balloon_pages);
		cJSON_AddNumberToObject(v, "guest_swapped_pages", (double)gm.swapped_pages);
		cJSON_AddItemToObject(v, "stats", stats_json(&host_vm(r->h, i)->st));
		cJSON_AddItemToArray(vms, v);
	}
	cJSON_AddItemToObject(o, "total", stats_json(&r->total));
	char *txt = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!txt)
		return -1;
	fprintf(f, "%s\n", txt);
	free(txt);
	return 0;
}

static void print_text(const struct report *r, FILE *f)
{
	struct host_meminfo hm;
	host_meminfo(r->h, &hm);
	fprintf(f, "vmsim host: mode %s, %u VM%s, ", r->mode, r->n, r->n == 1 ? "" : "s");
	if (r->hc->host_mib && r->hc->reclaim == RECLAIM_BALLOON)
		fprintf(f, "host memory %" PRIu64 " MiB, reclaim balloon (%s targets; host swap when short)\n",
			r->hc->host_mib, balloon_name(r->hc));
	else if (r->hc->host_mib)
		fprintf(f, "host memory %" PRIu64 " MiB, reclaim swap\n", r->hc->host_mib);
	else
		fprintf(f, "no host memory limit\n");
	fprintf(f, "config:     %s\n\n", r->config);
	fprintf(f, "%4s  %-28s %8s %8s %16s %10s %17s %17s %8s %15s\n", "vm", "workload", "memory",
		"maxmem", "cycles", "cyc/access", "guest swap out/in", "host swap out/in", "double",
		"balloon in/out");
	for (unsigned i = 0; i <= r->n; i++) {
		const struct stats *st = i < r->n ? &host_vm(r->h, i)->st : &r->total;
		char name[29], so[40], hs[40], bl[40];
		if (i < r->n) {
			snprintf(name, sizeof name, "%.28s", r->vm[i].ident);
			if (strlen(r->vm[i].ident) > 28)
				memcpy(name + 25, "...", 4);
			fprintf(f, "%4u  %-28s %8" PRIu64 " %8" PRIu64, i, name, r->vm[i].memory,
				r->vm[i].maxmem);
		} else {
			fprintf(f, "%4s  %-28s %8s %8s", "all", "(run time: one host CPU)", "", "");
		}
		snprintf(so, sizeof so, "%" PRIu64 "/%" PRIu64, st->guest_swap_outs, st->guest_swap_ins);
		snprintf(hs, sizeof hs, "%" PRIu64 "/%" PRIu64, st->host_swap_outs, st->host_swap_ins);
		snprintf(bl, sizeof bl, "%" PRIu64 "/%" PRIu64, st->balloon_pages_in, st->balloon_pages_out);
		fprintf(f, " %16" PRIu64 " %10.2f %17s %17s %8" PRIu64 " %15s\n", stats_cycles(st),
			stats_cycles_per_access(st), so, hs, st->double_paging, bl);
	}
	fprintf(f, "\n");
	for (unsigned i = 0; i < r->n; i++)
		fprintf(f, "vm %u: %s\n", i, r->vm[i].ident);
	fprintf(f, "host memory: %.1f MiB in use at the end, %.1f MiB at most (sampled between events)",
		(double)hm.used_bytes / (1 << 20), (double)hm.peak_bytes / (1 << 20));
	if (hm.limit_bytes)
		fprintf(f, " of %.0f MiB", (double)hm.limit_bytes / (1 << 20));
	fprintf(f, "\nall counters: --json or --csv\n");
}

int cmd_host(int argc, char **argv)
{
	enum { O_VM = 256, O_HOSTMEM, O_RECLAIM, O_BALLOON, O_QUANTUM, O_JSON, O_CSV, O_CHECK };
	static const struct option longopts[] = {
		{"vm", required_argument, NULL, O_VM},
		{"host-mem", required_argument, NULL, O_HOSTMEM},
		{"reclaim", required_argument, NULL, O_RECLAIM},
		{"balloon", required_argument, NULL, O_BALLOON},
		{"quantum", required_argument, NULL, O_QUANTUM},
		{"json", no_argument, NULL, O_JSON},
		{"csv", no_argument, NULL, O_CSV},
		{"check", no_argument, NULL, O_CHECK},
		{"help", no_argument, NULL, 'h'},
		{0}};
	static struct vm_spec vm[MAX_VMS];
	unsigned nvm = 0;
	struct run_args a = {0};
	bool check = false;
	const char *hostmem = NULL, *reclaim = NULL, *balloon = NULL, *quantum = NULL;
	int opt;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "c:m:s:o:h", longopts, NULL)) != -1) {
		int r = cli_common_opt("host", &a, opt, optarg);
		if (r < 0)
			return 2;
		if (r)
			continue;
		switch (opt) {
		case O_VM:
			if (nvm == MAX_VMS)
				return cli_usage_error("host", "more than %d VMs", MAX_VMS);
			if (parse_vm(optarg, &vm[nvm]) != 0)
				return 2;
			nvm++;
			break;
		case O_HOSTMEM: hostmem = optarg; break;
		case O_RECLAIM: reclaim = optarg; break;
		case O_BALLOON: balloon = optarg; break;
		case O_QUANTUM: quantum = optarg; break;
		case O_JSON: a.json = true; break;
		case O_CSV: a.csv = true; break;
		case O_CHECK: check = true; break;
		case 'h': usage(stdout); return 0;
		default:
			return cli_usage_error("host", "unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("host", "unexpected argument '%s'", argv[optind]);
	if (a.json && a.csv)
		return cli_usage_error("host", "--json and --csv exclude each other");
	if (!nvm)
		return cli_usage_error("host", "give at least one --vm WORKLOAD@MEMORY");

	uint64_t num;
	if (hostmem && parse_mib(hostmem, &num) < 0)
		return cli_usage_error("host", "--host-mem %s: expected a positive number of MiB", hostmem);
	if (quantum && parse_mib(quantum, &num) < 0)
		return cli_usage_error("host", "--quantum %s: expected a positive number of events", quantum);
	if (reclaim && strcmp(reclaim, "balloon") && strcmp(reclaim, "swap"))
		return cli_usage_error("host", "--reclaim %s: expected balloon or swap", reclaim);
	if (balloon && strcmp(balloon, "static") && strcmp(balloon, "auto"))
		return cli_usage_error("host", "--balloon %s: expected static or auto", balloon);

	/* The flags are config keys: add them after the -s overrides. */
	char kv[4][96];
	int nkv = 0;
	if (hostmem)
		snprintf(kv[nkv++], sizeof kv[0], "overcommit.host_mib=%s", hostmem);
	if (reclaim)
		snprintf(kv[nkv++], sizeof kv[0], "overcommit.reclaim=%s", reclaim);
	if (balloon)
		snprintf(kv[nkv++], sizeof kv[0], "overcommit.balloon=%s", balloon);
	if (quantum)
		snprintf(kv[nkv++], sizeof kv[0], "vmswitch.quantum=%s", quantum);
	for (int i = 0; i < nkv; i++) {
		if (a.nsets == CLI_MAX_SETS)
			return cli_usage_error("host", "more than %d -s options", CLI_MAX_SETS);
		a.sets[a.nsets++] = kv[i];
	}

	struct vmerr err = {{0}};
	const char *mname = a.mode ? a.mode : "nested";
	const struct mmu_ops *mode = mmu_find(mname);
	if (!mode)
		return cli_usage_error("host", "unknown mode '%s' (modes: %s)", mname, mmu_names());
	if (!mode->p2m)
		return cli_usage_error("host", "mode %s has no host dimension; use bt, vtx, nested or pv",
				       mode->name);
	struct cfg cfg;
	int rc = cfg_load(&cfg, a.config, a.sets, a.nsets, &err);
	if (rc < 0)
		return cli_fail(rc, &err);
	if (!strcmp(mname, "ept"))
		cfg.host_format = PT_EPT;
	if (!strcmp(mname, "npt"))
		cfg.host_format = PT_NPT;

	struct host *h = host_new(&cfg, &err);
	if (!h)
		return cli_fail(VM_ENOMEM, &err);
	for (unsigned i = 0; i < nvm; i++) {
		struct host_src src;
		rc = vm[i].trace ? host_src_trace(&src, vm[i].src + 6, vm[i].ident, sizeof vm[i].ident, &err)
				 : host_src_workload(&src, vm[i].src, vm[i].ident, sizeof vm[i].ident, &err);
		if (rc < 0)
			goto fail;
		struct cfg vc = cfg;
		vc.vm_memory_mib = vm[i].memory;
		vc.vm_maxmem_mib = vm[i].maxmem;
		rc = host_add_vm(h, &vc, mode, &src, &err);
		if (rc < 0) {
			src.close(src.arg);
			goto fail;
		}
		if (check)
			sim_set_check(host_vm(h, i), true, NULL, NULL);
	}
	rc = host_run(h, &err);
	if (rc < 0)
		goto fail;
	for (unsigned i = 0; check && i < nvm; i++)
		if (host_vm(h, i)->check_failures) {
			rc = vmerr_set(&err, VM_EIO, "functional check failed: VM %u: %llu accesses resolved "
				       "to the wrong guest-physical address under mode %s", i,
				       (unsigned long long)host_vm(h, i)->check_failures, mode->name);
			goto fail;
		}

	struct report r = {.mode = mode->name, .config = cfg.source, .hc = &cfg, .h = h, .vm = vm, .n = nvm};
	for (unsigned i = 0; i < nvm; i++)
		add_stats(&r.total, &host_vm(h, i)->st);
	struct cli_out o;
	rc = cli_out_open(&o, a.out, &err);
	if (rc < 0)
		goto fail;
	if (a.json)
		print_json(&r, o.f);
	else if (a.csv)
		print_csv(&r, o.f);
	else
		print_text(&r, o.f);
	host_free(h);
	rc = cli_out_commit(&o, &err);
	return rc < 0 ? cli_fail(rc, &err) : 0;
fail:
	host_free(h);
	return cli_fail(rc, &err);
}
