/*
 * cmd_validate.c - `vmsim validate`: the simulator against the KVM harness
 * on one workload, side by side.
 *
 * Notes:
 *  - The harness is vmsim-kvm ($VMSIM_KVM, else kvm-harness/vmsim-kvm next
 *    to this executable).  It runs the workload's freestanding build in a
 *    KVM guest and natively; this command runs the simulator build of the
 *    same workload (same parameters and seed: the same operations) under
 *    the mode that matches the host (shadow paging only -> vtx; EPT or NPT
 *    -> nested) and under native, with the same cost profile.
 *  - The cost profile: --calibrated FILE, else `vmsim-kvm calibrate` is run
 *    first into a temporary file, so that predicted times are in this
 *    host's cycles; --defaults uses the built-in profile instead.
 *  - The harness's guest kernel maps pages when the guest first touches
 *    them (vmsim-kvm run --demand on), because that is what the model's
 *    guest-OS model does; --populate uses the harness's own default
 *    (mappings written at wl_map time), which the model cannot express:
 *    the table then says so.  Host THP is off unless --host-thp on, and
 *    host.page follows it (2m with THP), guest.page follows --guest-page;
 *    tlb.pcid is off, as the harness's guest runs without PCID.
 *  - Counts come from one harness run with perf events and tracepoints on;
 *    times from --repeat more runs with them off (they slow every exit),
 *    taking the lowest, since the machines here are shared and noise only
 *    adds time.
 *  - Which counts are the same thing (the matches are explained in the
 *    notes printed under the table): KVM's pf_fixed counts shadow faults it
 *    fixed, whether they fill an entry or set a dirty bit, so it matches
 *    hidden_faults + ad_emulations, not shadow_fills (which counts
 *    prefetched entries too); shadow_fills matches the kvm_mmu_set_spte
 *    tracepoint.  Reflected faults are guest page faults, served in this
 *    harness by vmsim-kvm.  KVM's mmu_pte_write counts emulated writes to
 *    write-protected guest tables; the model's traps include the ones that
 *    only unsync a table, which KVM counts as kvm_mmu_unsync_page.
 *  - No model number is changed to fit: the profile is measured apart, by
 *    calibrate, from micro-benchmarks that are not these workloads.
 */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "common.h"

extern char **environ;

struct vopts {
	const char *spec;
	const char *calibrated;
	bool defaults, json, populate;
	int ad, prefault, thp; /* -1: the harness's default */
	const char *guest_page;
	unsigned repeat, timeout;
	char *sets[CLI_MAX_SETS];
	int nsets;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vmsim validate -w WORKLOAD[:k=v,...] [--calibrated FILE | --defaults] [--json]\n"
		"                      [--populate] [--ad on|off] [--prefault on|off]\n"
		"                      [--guest-page 4k|2m] [--host-thp on|off] [--repeat N]\n"
		"                      [--timeout SEC] [-s SECTION.KEY=VALUE]...\n\n"
		"Run the workload in a KVM guest and natively with the harness (vmsim-kvm), and\n"
		"in the simulator under the mode that matches this host (vtx where the host has\n"
		"shadow paging only, nested with EPT/NPT) and under native, then print predicted\n"
		"against measured counts and times.\n\n"
		"  --calibrated FILE  cost profile from 'vmsim-kvm calibrate -o FILE'; without it\n"
		"                     calibrate is run first (about a second)\n"
		"  --defaults         use the built-in cost profile instead (no calibration)\n"
		"  --json             one JSON object\n"
		"  --populate         the harness maps pages at wl_map time (its default) instead\n"
		"                     of on first touch as the model's guest kernel does\n"
		"  --ad, --prefault   passed to vmsim-kvm run: A/D preset in guest PTEs, host\n"
		"                     memory populated at map time\n"
		"  --guest-page SIZE  guest leaf size (also guest.page in the model)\n"
		"  --host-thp on|off  host THP for guest memory (default off; host.page 2m if on)\n"
		"  --repeat N         timing runs, the lowest kept (default 3)\n"
		"  -s KEY=VALUE       override a model key (see 'vmsim config')\n\n"
		"vmsim-kvm is found as $VMSIM_KVM, else kvm-harness/vmsim-kvm beside vmsim.\n");
}

/* --- running the harness -------------------------------------------------- */

static int find_kvm(char *path, size_t len, struct vmerr *err)
{
	const char *e = getenv("VMSIM_KVM");
	if (e && *e) {
		snprintf(path, len, "%s", e);
	} else {
		char self[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
		if (n < 0)
			return vmerr_set(err, VM_EIO, "validate: cannot find my own executable "
					 "(/proc/self/exe): set VMSIM_KVM to vmsim-kvm");
		self[n] = 0;
		char *slash = strrchr(self, '/');
		if (slash)
			*slash = 0;
		if ((size_t)snprintf(path, len, "%s/kvm-harness/vmsim-kvm", self) >= len)
			return vmerr_set(err, VM_EIO, "validate: path of vmsim too long; set VMSIM_KVM");
	}
	if (access(path, X_OK) != 0)
		return vmerr_set(err, VM_EUSAGE, "validate: the KVM harness %s is not there (%s); "
				 "build it (cmake --build build) or set VMSIM_KVM", path, strerror(errno));
	return 0;
}

/* Run argv, stdout into *out (malloc'd), stderr passed through.  Returns the
 * exit status, or -1 if it could not run or was killed. */
static int run_capture(char *const argv[], char **out)
{
	int pfd[2];
	*out = NULL;
	if (pipe(pfd) < 0)
		return -1;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_addclose(&fa, pfd[0]);
	posix_spawn_file_actions_addclose(&fa, pfd[1]);
	pid_t pid;
	int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (rc != 0) {
		close(pfd[0]);
		errno = rc;
		return -1;
	}
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	ssize_t r;
	while (buf && (r = read(pfd[0], buf + n, cap - n - 1)) > 0) {
		n += (size_t)r;
		if (n + 1 == cap) {
			char *nb = realloc(buf, cap *= 2);
			if (!nb)
				free(buf);
			buf = nb;
		}
	}
	close(pfd[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!buf)
		return -1;
	buf[n] = 0;
	*out = buf;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* `vmsim-kvm run ... --json`, parsed. */
static cJSON *harness_run(const char *kvm, const struct vopts *o, bool counters,
			  struct vmerr *err)
{
	char timeout[16];
	const char *argv[32];
	int n = 0;
	snprintf(timeout, sizeof timeout, "%u", o->timeout);
	argv[n++] = kvm;
	argv[n++] = "run";
	argv[n++] = "-w";
	argv[n++] = o->spec;
	argv[n++] = "--json";
	argv[n++] = "--timeout";
	argv[n++] = timeout;
	argv[n++] = "--demand";
	argv[n++] = o->populate ? "off" : "on";
	argv[n++] = "--host-thp";
	argv[n++] = o->thp == 1 ? "on" : "off";
	argv[n++] = "--counters";
	argv[n++] = counters ? "on" : "off";
	if (o->ad >= 0) {
		argv[n++] = "--ad";
		argv[n++] = o->ad ? "on" : "off";
	}
	if (o->prefault >= 0) {
		argv[n++] = "--prefault";
		argv[n++] = o->prefault ? "on" : "off";
	}
	if (o->guest_page) {
		argv[n++] = "--guest-page";
		argv[n++] = o->guest_page;
	}
	argv[n] = NULL;
	char *out;
	int st = run_capture((char *const *)argv, &out);
	if (st != 0) {
		free(out);
		if (st < 0)
			return vmerr_set(err, VM_EIO, "validate: running %s failed: %s", kvm,
					 strerror(errno)), NULL;
		return vmerr_set(err, VM_EIO, "validate: '%s run -w %s' failed (exit %d; its "
				 "message is above)", kvm, o->spec, st), NULL;
	}
	cJSON *j = cJSON_Parse(out);
	free(out);
	if (!j)
		vmerr_set(err, VM_EIO, "validate: %s run printed no JSON object", kvm);
	return j;
}

static double jnum(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(o, key);
	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(o, key);
	return cJSON_IsString(v) ? v->valuestring : "";
}

/* What one harness run measured, summed over its phases. */
struct measured {
	bool have_trace;
	double native_cycles, guest_cycles, accesses;
	double pf_fixed, pf_guest, pf_taken, invlpg, exits, irq_exits, mmu_pte_write;
	double mmu_shadow_zapped;
	double pages_2m;
	double doorbells, exit_like, served_faults, divide_errors, cr3_switches;
	double set_spte, unsync, sync;
};

static void sum_phases(const cJSON *j, struct measured *m)
{
	memset(m, 0, sizeof *m);
	m->have_trace = cJSON_IsTrue(cJSON_GetObjectItem(j, "tracepoints"));
	const cJSON *ph;
	cJSON_ArrayForEach(ph, cJSON_GetObjectItem(j, "phases"))
	{
		const cJSON *n = cJSON_GetObjectItem(ph, "native");
		const cJSON *g = cJSON_GetObjectItem(ph, "guest");
		const cJSON *vc = cJSON_GetObjectItem(g, "kvm_vcpu");
		const cJSON *vm = cJSON_GetObjectItem(g, "kvm_vm");
		const cJSON *lv = cJSON_GetObjectItem(g, "kvm_vm_levels");
		const cJSON *h = cJSON_GetObjectItem(g, "harness");
		const cJSON *ops = cJSON_GetObjectItem(h, "doorbell_ops");
		const cJSON *tr = cJSON_GetObjectItem(g, "tracepoints");
		m->accesses += jnum(ph, "accesses");
		m->native_cycles += jnum(n, "cycles");
		m->guest_cycles += jnum(g, "cycles");
		m->pf_fixed += jnum(vc, "pf_fixed");
		m->pf_guest += jnum(vc, "pf_guest");
		m->pf_taken += jnum(vc, "pf_taken");
		m->invlpg += jnum(vc, "invlpg");
		m->exits += jnum(vc, "exits");
		m->irq_exits += jnum(vc, "irq_exits");
		m->mmu_pte_write += jnum(vm, "mmu_pte_write");
		m->mmu_shadow_zapped += jnum(vm, "mmu_shadow_zapped");
		m->pages_2m = jnum(lv, "pages_2m"); /* a level: the last phase's */
		m->doorbells += jnum(h, "doorbells");
		m->exit_like += jnum(ops, "cr8") + jnum(ops, "io_in") + jnum(ops, "exception");
		m->served_faults += jnum(h, "guest_page_faults");
		m->divide_errors += jnum(h, "divide_errors");
		m->cr3_switches += jnum(h, "cr3_switches");
		m->set_spte += jnum(tr, "kvmmmu:kvm_mmu_set_spte");
		m->unsync += jnum(tr, "kvmmmu:kvm_mmu_unsync_page");
		m->sync += jnum(tr, "kvmmmu:kvm_mmu_sync_page");
	}
}

/* --- running the model ---------------------------------------------------- */

static int simulate(const struct vopts *o, const char *profile, const char *mode_name,
		    struct stats *st, struct cfg *cfg, struct vmerr *err)
{
	char *sets[CLI_MAX_SETS + 3];
	char gpage[32], hpage[32], pcid[] = "tlb.pcid=off";
	int n = 0;
	snprintf(gpage, sizeof gpage, "guest.page=%s", o->guest_page ? o->guest_page : "4k");
	snprintf(hpage, sizeof hpage, "host.page=%s", o->thp == 1 ? "2m" : "4k");
	sets[n++] = gpage;
	sets[n++] = hpage;
	sets[n++] = pcid; /* the harness's guest has no PCID (the hosts here offer none) */
	for (int i = 0; i < o->nsets; i++)
		sets[n++] = o->sets[i];
	struct run_args a = {.config = profile, .mode = mode_name, .workload = o->spec};
	const struct mmu_ops *mode;
	if (n > CLI_MAX_SETS)
		return vmerr_set(err, VM_EUSAGE, "validate: too many -s options");
	memcpy(a.sets, sets, (size_t)n * sizeof sets[0]);
	a.nsets = n;
	int rc = cli_setup("validate", &a, cfg, &mode, err);
	if (rc < 0)
		return rc;
	struct sim *s = sim_new(cfg, mode, err);
	if (!s)
		return VM_EINPUT;
	char ident[512];
	rc = cli_feed(&a, s, ident, sizeof ident, err);
	if (rc == 0) {
		sim_finish(s);
		*st = s->st;
	}
	sim_free(s);
	return rc;
}

/* --- the table ------------------------------------------------------------- */

struct row {
	const char *name;
	double pred, meas;
	bool have_meas;
	const char *model, *kvm; /* what each side counts */
};

static double rel_err(double p, double m)
{
	if (m == 0)
		return p == 0 ? 0 : INFINITY;
	return (p - m) / m;
}

static void fmt_err(char *buf, size_t len, const struct row *r)
{
	if (!r->have_meas) {
		snprintf(buf, len, "-");
		return;
	}
	double e = rel_err(r->pred, r->meas);
	if (isinf(e))
		snprintf(buf, len, "(meas. 0)");
	else
		snprintf(buf, len, "%+.1f%%", e * 100);
}

static cJSON *row_json(const struct row *r)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", r->name);
	cJSON_AddNumberToObject(o, "predicted", r->pred);
	if (r->have_meas) {
		cJSON_AddNumberToObject(o, "measured", r->meas);
		double e = rel_err(r->pred, r->meas);
		if (isinf(e))
			cJSON_AddNullToObject(o, "rel_error");
		else
			cJSON_AddNumberToObject(o, "rel_error", e);
	} else {
		cJSON_AddNullToObject(o, "measured");
		cJSON_AddNullToObject(o, "rel_error");
	}
	cJSON_AddStringToObject(o, "model", r->model);
	cJSON_AddStringToObject(o, "kvm", r->kvm);
	return o;
}

static int opt_on_off(const char *opt, const char *v, int *out)
{
	if (!strcmp(v, "on") || !strcmp(v, "off")) {
		*out = !strcmp(v, "on");
		return 0;
	}
	return cli_usage_error("validate", "%s expects on or off, not '%s'", opt, v);
}

int cmd_validate(int argc, char **argv)
{
	enum { O_CAL = 256, O_DEF, O_JSON, O_POP, O_AD, O_PREF, O_GPAGE, O_THP, O_REP, O_TMO };
	static const struct option longopts[] = {
		{"calibrated", required_argument, NULL, O_CAL}, {"defaults", no_argument, NULL, O_DEF},
		{"json", no_argument, NULL, O_JSON}, {"populate", no_argument, NULL, O_POP},
		{"ad", required_argument, NULL, O_AD}, {"prefault", required_argument, NULL, O_PREF},
		{"guest-page", required_argument, NULL, O_GPAGE},
		{"host-thp", required_argument, NULL, O_THP}, {"repeat", required_argument, NULL, O_REP},
		{"timeout", required_argument, NULL, O_TMO}, {"help", no_argument, NULL, 'h'}, {0}};
	struct vopts o = {.ad = -1, .prefault = -1, .thp = 0, .repeat = 3, .timeout = 60};
	int opt;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "w:s:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'w': o.spec = optarg; break;
		case 's':
			if (o.nsets == CLI_MAX_SETS)
				return cli_usage_error("validate", "more than %d -s options", CLI_MAX_SETS);
			o.sets[o.nsets++] = optarg;
			break;
		case O_CAL: o.calibrated = optarg; break;
		case O_DEF: o.defaults = true; break;
		case O_JSON: o.json = true; break;
		case O_POP: o.populate = true; break;
		case O_AD:
			if (opt_on_off("--ad", optarg, &o.ad))
				return 2;
			break;
		case O_PREF:
			if (opt_on_off("--prefault", optarg, &o.prefault))
				return 2;
			break;
		case O_THP:
			if (opt_on_off("--host-thp", optarg, &o.thp))
				return 2;
			break;
		case O_GPAGE:
			if (strcmp(optarg, "4k") && strcmp(optarg, "2m"))
				return cli_usage_error("validate", "--guest-page expects 4k or 2m, not '%s'",
						       optarg);
			o.guest_page = optarg;
			break;
		case O_REP:
			o.repeat = (unsigned)strtoul(optarg, NULL, 10);
			if (!o.repeat || o.repeat > 100)
				return cli_usage_error("validate", "--repeat expects 1 to 100, not '%s'",
						       optarg);
			break;
		case O_TMO:
			o.timeout = (unsigned)strtoul(optarg, NULL, 10);
			if (!o.timeout)
				return cli_usage_error("validate", "--timeout expects seconds, not '%s'",
						       optarg);
			break;
		case 'h': usage(stdout); return 0;
		default:
			return cli_usage_error("validate", "unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("validate", "unexpected argument '%s'", argv[optind]);
	if (!o.spec)
		return cli_usage_error("validate", "-w WORKLOAD[:k=v,...] is required");
	if (o.calibrated && o.defaults)
		return cli_usage_error("validate", "--calibrated and --defaults exclude each other");

	struct vmerr err = {{0}};
	const struct wl_desc *d;
	uint64_t p[WL_MAX_PARAMS + 1];
	int rc = wl_parse(o.spec, &d, p, &err);
	if (rc < 0)
		return cli_fail(rc, &err);
	char params[600], ident[700];
	wl_format_params(d, p, params, sizeof params);
	snprintf(ident, sizeof ident, "%s:%s", d->name, params);

	char kvm[PATH_MAX];
	if ((rc = find_kvm(kvm, sizeof kvm, &err)) < 0)
		return cli_fail(rc, &err);

	/* The profile: given, measured now, or the built-in one. */
	char tmp_profile[] = "/tmp/vmsim-validate-XXXXXX.ini";
	const char *profile = o.calibrated;
	bool calibrated_now = false;
	if (!profile && !o.defaults) {
		int fd = mkstemps(tmp_profile, 4);
		if (fd < 0)
			return cli_fail(VM_EIO, &(struct vmerr){"validate: cannot create a temporary "
								 "profile in /tmp"});
		close(fd);
		char *cargv[] = {kvm, "calibrate", "-o", tmp_profile, NULL}, *out;
		int st = run_capture(cargv, &out);
		free(out);
		if (st != 0) {
			unlink(tmp_profile);
			vmerr_set(&err, VM_EIO, "validate: '%s calibrate' failed (exit %d; its message "
				  "is above); give a profile with --calibrated or use --defaults", kvm, st);
			return cli_fail(VM_EIO, &err);
		}
		profile = tmp_profile;
		calibrated_now = true;
	}

	/* The harness: one run for counts, --repeat for times. */
	cJSON *counts = harness_run(kvm, &o, true, &err);
	if (!counts) {
		rc = VM_EIO;
		goto out;
	}
	struct measured m, t;
	sum_phases(counts, &m);
	double best_native = m.native_cycles, best_guest = m.guest_cycles;
	bool times_from_counts_run = true;
	for (unsigned i = 0; i < o.repeat; i++) {
		cJSON *j = harness_run(kvm, &o, false, &err);
		if (!j) {
			cJSON_Delete(counts);
			rc = VM_EIO;
			goto out;
		}
		sum_phases(j, &t);
		if (times_from_counts_run || t.native_cycles < best_native)
			best_native = t.native_cycles;
		if (times_from_counts_run || t.guest_cycles < best_guest)
			best_guest = t.guest_cycles;
		times_from_counts_run = false;
		cJSON_Delete(j);
	}
	const char *mmu = jstr(counts, "mmu");
	bool tdp = strcmp(mmu, "EPT") == 0 || strcmp(mmu, "NPT") == 0;
	const char *mode = tdp ? "nested" : "vtx";
	bool ck_match = cJSON_IsTrue(cJSON_GetObjectItem(counts, "checksum_match"));
	double tsc_ghz = jnum(counts, "tsc_hz") * 1e-9;

	/* The model, same workload, same profile. */
	struct stats sv, sn;
	struct cfg cfg;
	if ((rc = simulate(&o, profile, mode, &sv, &cfg, &err)) < 0 ||
	    (rc = simulate(&o, profile, "native", &sn, &cfg, &err)) < 0) {
		cJSON_Delete(counts);
		fprintf(stderr, "vmsim: %s\n", err.msg);
		rc = rc == VM_EINPUT || rc == VM_EUSAGE ? rc : VM_EIO;
		goto out;
	}

	double kernel_doorbells = m.doorbells - m.exit_like;
	struct row rows[16];
	unsigned nr = 0;
	if (!tdp) {
		rows[nr++] = (struct row){"shadow faults fixed", (double)(sv.hidden_faults + sv.ad_emulations),
					  m.pf_fixed, true, "hidden_faults + ad_emulations", "pf_fixed"};
		rows[nr++] = (struct row){"shadow entries set",
					  (double)(sv.shadow_fills + sv.ad_emulations), m.set_spte,
					  m.have_trace, "shadow_fills (prefetched included) + ad_emulations",
					  "kvmmmu:kvm_mmu_set_spte"};
		rows[nr++] = (struct row){"#PF exits", (double)sv.vm_exits_pf, m.pf_taken - m.doorbells,
					  true, "vm_exits_pf",
					  "pf_taken - doorbells (each doorbell is an MMIO #PF)"};
		rows[nr++] = (struct row){"INVLPG exits", (double)sv.vm_exits_invlpg, m.invlpg, true,
					  "vm_exits_invlpg", "invlpg (vmsim-kvm's CPL0 detours)"};
	} else {
		rows[nr++] = (struct row){"EPT/NPT violations fixed", (double)sv.vm_exits_violation,
					  m.pf_fixed, true, "vm_exits_violation", "pf_fixed"};
	}
	rows[nr++] = (struct row){"guest page faults", (double)sv.page_faults, m.served_faults, true,
				  "page_faults", "faults served by vmsim-kvm (pf_guest)"};
	if (!tdp) {
		rows[nr++] = (struct row){"page-table writes emulated",
					  (double)(sv.pt_write_traps - sv.shadow_unsyncs), m.mmu_pte_write,
					  true, "pt_write_traps - shadow_unsyncs", "mmu_pte_write"};
		rows[nr++] = (struct row){"tables let go out of sync", (double)sv.shadow_unsyncs,
					  m.unsync, m.have_trace, "shadow_unsyncs",
					  "kvmmmu:kvm_mmu_unsync_page"};
		rows[nr++] = (struct row){"tables resynchronised", (double)sv.shadow_syncs, m.sync,
					  m.have_trace, "shadow_syncs", "kvmmmu:kvm_mmu_sync_page"};
		rows[nr++] = (struct row){"shadow tables zapped", (double)sv.shadow_zaps,
					  m.mmu_shadow_zapped, true, "shadow_zaps", "mmu_shadow_zapped"};
	}
	/* The model loads the first process's CR3 too; the harness starts with it. */
	rows[nr++] = (struct row){"address-space switches",
				  sv.cr3_writes ? (double)sv.cr3_writes - 1 : 0, m.cr3_switches, true,
				  "cr3_writes - 1 (the first process's)",
				  "CR3 switches by vmsim-kvm (KVM_SET_SREGS)"};
	rows[nr++] = (struct row){"2 MiB mappings", cfg.host_page >= PS_2M ? (double)sv.faults_demand_2m
									     : 0,
				  m.pages_2m, true, "faults_demand_2m where host.page is 2m",
				  "pages_2m (at the end)"};
	rows[nr++] = (struct row){"VM exits, all", (double)sv.vm_exits, m.exits, true, "vm_exits",
				  "exits"};
	rows[nr++] = (struct row){"VM exits both have",
				  (double)(sv.vm_exits - sv.vm_exits_cr3),
				  m.exits - kernel_doorbells - m.served_faults - m.divide_errors -
					  m.irq_exits,
				  true, "vm_exits - vm_exits_cr3",
				  "exits - kernel-service doorbells - shutdowns served - irq_exits"};

	double pn = (double)stats_cycles(&sn), pg = (double)stats_cycles(&sv);
	struct row times[3] = {
		{"native cycles", pn, best_native, true, "cycles (native)", "TSC cycles, host process"},
		{"guest cycles", pg, best_guest, true, "cycles", "guest TSC cycles"},
		{"guest / native", pn ? pg / pn : 0, best_native ? best_guest / best_native : 0, true,
		 "ratio", "ratio"},
	};

	char why_pf[200];
	snprintf(why_pf, sizeof why_pf, "%s", o.populate
		? "--populate: vmsim-kvm wrote the guest PTEs at wl_map time, so the guest took no "
		  "page faults; the model's guest kernel still demand-pages (it has no populate)"
		: "vmsim-kvm maps a page when the guest first touches it, as the model's guest "
		  "kernel does");
	const char *notes[] = {
		"pf_fixed counts the shadow faults KVM fixed, whether they filled an entry or set a "
		"dirty bit: hidden_faults + ad_emulations.  shadow_fills also counts entries "
		"prefetched with a fill, which only the kvm_mmu_set_spte tracepoint sees (it fires "
		"for every entry set, the dirty-bit rewrites too).  A few pf_fixed are the guest's "
		"first touches of its page-table view and of the echo list, as a kernel's first "
		"writes to its tables fault too; the model's stream holds user accesses only.",
		"The host has a zero page, the model does not: a guest load from untouched memory "
		"maps the host's zero page, the store after it makes the host copy the page, KVM's "
		"MMU notifier drops the entry and the guest faults once more (in pf_taken, not in "
		"pf_fixed).  The host process pays the same as two faults per page where the model "
		"charges one.  --prefault on avoids it in the guest.",
		why_pf,
		"vmsim-kvm writes the guest's page tables and the guest then repeats each write "
		"itself (run --guest-ptw on), so KVM traps it as a guest kernel's write: "
		"mmu_pte_write counts the emulated ones, kvm_mmu_unsync_page those that let a leaf "
		"table go out of sync.  INVLPG (up to 33 pages, else a CR3 reload) is done in a "
		"CPL0 detour, which KVM emulates here.",
		"Where the harness's kernel differs from the model's: fork shares the parent's "
		"memory instead of write-protecting it for copy-on-write (no traps, no flush); exit "
		"frees the tables without clearing their entries, and deletes the memory slots, "
		"which drops every shadow page (zaps); a CR3 switch is a KVM_SET_SREGS by "
		"vmsim-kvm in the switch doorbell, not a MOV to CR3 that exits, so the model's "
		"vm_exits_cr3 have no counterpart among the exits.",
		"exits also counts what the model has no counterpart for: vmsim-kvm's doorbells for "
		"kernel services (map, switch, fork, exit, syscall, phase, sync), the shutdown that "
		"brings each guest fault or divide error to vmsim-kvm (an extra exit each), and "
		"host interrupts (irq_exits).",
		"Times: model cycles with the profile's costs; measured TSC cycles, the lowest of the "
		"timing runs.  Guest cycles leave out the doorbells for kernel services (the "
		"model's guest kernel does them without an exit) and the INVLPG detours (emulated "
		"CPL0 code here, far dearer than an INVLPG exit), but keep the doorbells for CR8, "
		"port I/O and exceptions, which stand for exits.  The model's access costs (TLB, "
		"walks, caches) are not calibrated.  Where a workload's time is mostly one "
		"mechanism that calibrate measured (a served guest fault, a doorbell), the guest "
		"time matches largely by construction.",
	};


	if (o.json) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "workload", ident);
		cJSON_AddStringToObject(j, "host_mmu", mmu);
		cJSON_AddStringToObject(j, "mode", mode);
		cJSON_AddStringToObject(j, "profile", profile ? profile : "built-in defaults");
		cJSON_AddBoolToObject(j, "profile_calibrated_now", calibrated_now);
		cJSON_AddStringToObject(j, "guest_mappings", o.populate ? "at map" : "on first touch");
		cJSON_AddNumberToObject(j, "tsc_ghz", tsc_ghz);
		cJSON_AddBoolToObject(j, "checksum_match", ck_match);
		cJSON_AddNumberToObject(j, "timing_runs", o.repeat);
		cJSON *ra = cJSON_AddArrayToObject(j, "counts");
		for (unsigned i = 0; i < nr; i++)
			cJSON_AddItemToArray(ra, row_json(&rows[i]));
		cJSON *ta = cJSON_AddArrayToObject(j, "times");
		for (unsigned i = 0; i < 3; i++)
			cJSON_AddItemToArray(ta, row_json(&times[i]));
		cJSON *na = cJSON_AddArrayToObject(j, "notes");
		for (unsigned i = 0; i < VM_ARRAY_SIZE(notes); i++)
			cJSON_AddItemToArray(na, cJSON_CreateString(notes[i]));
		if (!m.have_trace)
			cJSON_AddItemToArray(na, cJSON_CreateString(jstr(counts, "tracepoints_why")));
		char *txt = cJSON_Print(j);
		if (txt)
			printf("%s\n", txt);
		free(txt);
		cJSON_Delete(j);
	} else {
		char e[32];
		printf("workload    %s\n", ident);
		printf("host        %s -> model mode %s; guest pages mapped %s\n", mmu, mode,
		       o.populate ? "at wl_map (--populate)" : "on first touch (--demand on)");
		printf("profile     %s%s\n", profile ? profile : "built-in defaults",
		       calibrated_now ? " (vmsim-kvm calibrate, just now)" : "");
		printf("checksum    guest and host-process runs %s\n",
		       ck_match ? "agree" : "DISAGREE (the guest run is wrong)");
		printf("\n%-30s %14s %14s %10s\n", "counts", "predicted", "measured", "error");
		for (unsigned i = 0; i < nr; i++) {
			fmt_err(e, sizeof e, &rows[i]);
			if (rows[i].have_meas)
				printf("%-30s %14.0f %14.0f %10s\n", rows[i].name, rows[i].pred, rows[i].meas, e);
			else
				printf("%-30s %14.0f %14s %10s\n", rows[i].name, rows[i].pred, "n/a", e);
		}
		printf("\n%-30s %14s %14s %10s\n", "times (TSC cycles)", "predicted", "measured",
		       "error");
		for (unsigned i = 0; i < 3; i++) {
			fmt_err(e, sizeof e, &times[i]);
			printf(i == 2 ? "%-30s %14.2f %14.2f %10s\n" : "%-30s %14.0f %14.0f %10s\n",
			       times[i].name, times[i].pred, times[i].meas, e);
		}
		printf("(%u timing runs, lowest kept; %.3f GHz TSC)\n", o.repeat, tsc_ghz);
		printf("\nwhat is compared (model <-> KVM):\n");
		for (unsigned i = 0; i < nr; i++)
			printf("  %-30s %s <-> %s\n", rows[i].name, rows[i].model, rows[i].kvm);
		if (!m.have_trace)
			printf("  (tracepoint rows: %s)\n", jstr(counts, "tracepoints_why"));
		printf("\nnotes:\n");
		for (unsigned i = 0; i < VM_ARRAY_SIZE(notes); i++)
			printf("  - %s\n", notes[i]);
	}
	cJSON_Delete(counts);
	rc = 0;
out:
	if (calibrated_now)
		unlink(tmp_profile);
	if (rc < 0 && err.msg[0])
		return cli_fail(rc, &err);
	return vmerr_exit_status(rc);
}
