/*
 * test_kvm.c - vmsim-kvm on this host's /dev/kvm.
 *
 * Every test runs the vmsim-kvm binary ($VMSIM_KVM, or
 * VMSIM_BINARY_DIR/kvm-harness/vmsim-kvm) and checks the numbers it reports.
 * Where /dev/kvm is not usable the tests skip and say why.
 *
 * The expected counts are those of KVM's shadow MMU (notes/kvm-host.md):
 * one pf_fixed per first-touched 4 KiB page, one per 8 pages when the guest
 * entries carry A/D and the host pages are present (KVM prefetches 8).
 */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *kvm_bin(void)
{
	static char path[1024];
	const char *e = getenv("VMSIM_KVM");
	if (e && *e)
		return e;
	snprintf(path, sizeof path, "%s/kvm-harness/vmsim-kvm", VMSIM_BINARY_DIR);
	return path;
}

static void need_kvm(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		const char *why = strerror(errno);
		printf("test_kvm: skipped: /dev/kvm not usable here (%s)\n", why);
		cr_skip("/dev/kvm not usable here (%s)", why);
	}
	close(fd);
	if (access(kvm_bin(), X_OK) != 0)
		cr_skip("%s not built", kvm_bin());
}

struct out {
	char *out, *err; /* malloc'd */
	int status;      /* exit status, or -1 if killed */
};

static char *slurp(FILE *f)
{
	size_t cap = 1 << 16, n = 0;
	char *b = malloc(cap);
	size_t r;
	while ((r = fread(b + n, 1, cap - n - 1, f)) > 0) {
		n += r;
		if (n + 1 == cap)
			b = realloc(b, cap *= 2);
	}
	b[n] = 0;
	return b;
}

/* Run vmsim-kvm with args (a shell fragment); stdout and stderr apart. */
static struct out run(const char *args)
{
	char errpath[] = "/tmp/test_kvm.XXXXXX", cmd[2048];
	int efd = mkstemp(errpath);
	cr_assert_geq(efd, 0);
	close(efd);
	snprintf(cmd, sizeof cmd, "timeout 30 '%s' %s 2>%s", kvm_bin(), args, errpath);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p, "popen %s", cmd);
	struct out o = {.out = slurp(p)};
	int st = pclose(p);
	o.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	FILE *ef = fopen(errpath, "r");
	o.err = ef ? slurp(ef) : strdup("");
	if (ef)
		fclose(ef);
	unlink(errpath);
	return o;
}

static void out_free(struct out *o)
{
	free(o->out);
	free(o->err);
}

static cJSON *run_json(const char *args)
{
	char a[1024];
	snprintf(a, sizeof a, "%s --json", args);
	struct out o = run(a);
	cr_assert_eq(o.status, 0, "vmsim-kvm %s: exit %d\n%s", a, o.status, o.err);
	cJSON *j = cJSON_Parse(o.out);
	cr_assert_not_null(j, "vmsim-kvm %s: not JSON:\n%s", a, o.out);
	free(o.out);
	free(o.err);
	return j;
}

static double num(const cJSON *j, const char *path)
{
	/* "a.b.c" with arrays indexed by number: "phases.0.guest.kvm_vcpu.pf_fixed" */
	char buf[256], *save = NULL;
	snprintf(buf, sizeof buf, "%s", path);
	const cJSON *c = j;
	for (char *k = strtok_r(buf, ".", &save); k && c; k = strtok_r(NULL, ".", &save))
		c = cJSON_IsArray(c) ? cJSON_GetArrayItem(c, atoi(k)) : cJSON_GetObjectItem(c, k);
	cr_assert(cJSON_IsNumber(c), "no number at %s", path);
	return c->valuedouble;
}

#define PAGES 4096

Test(kvm, first_touch_one_pf_fixed_per_page)
{
	need_kvm();
	cJSON *j = run_json("run -w stride:pages=4096,passes=1,write=1 --no-native");
	double pf = num(j, "phases.0.guest.kvm_vcpu.pf_fixed");
	/* N data pages plus the payload's own few (code, stack, shared page). */
	cr_expect(pf >= PAGES && pf <= PAGES * 1.02 + 8, "pf_fixed %.0f for %d pages", pf, PAGES);
	cJSON_Delete(j);
}

Test(kvm, first_touch_prefetch_with_ad_preset)
{
	need_kvm();
	cJSON *j = run_json("run -w stride:pages=4096,passes=1,write=1 --no-native --ad on "
			    "--prefault on");
	double pf = num(j, "phases.0.guest.kvm_vcpu.pf_fixed");
	cr_expect(pf >= PAGES / 8 && pf <= PAGES / 8 * 1.02 + 8,
		  "pf_fixed %.0f for %d pages, expected about %d (8 per fault)", pf, PAGES, PAGES / 8);
	cJSON_Delete(j);
}

Test(kvm, balloon_64mib_drops_rss_and_deflates)
{
	need_kvm();
	cJSON *j = run_json("run -w stride:pages=16384,passes=1,write=1 --no-native --balloon 64");
	double before = num(j, "balloon.rss_before_kib"), after = num(j, "balloon.rss_after_kib");
	double back = num(j, "balloon.rss_deflated_kib");
	cr_expect_eq(num(j, "balloon.bytes"), 64 << 20);
	cr_expect(before - after >= 60 * 1024, "VmRSS %.0f -> %.0f KiB: dropped less than 60 MiB",
		  before, after);
	cr_expect_eq(num(j, "balloon.touch_pages"), 16384);
	cr_expect(back - after >= 60 * 1024, "after deflate VmRSS %.0f KiB (inflated %.0f)", back,
		  after);
	cJSON_Delete(j);
}

Test(kvm, guest_checksum_equals_host_process)
{
	need_kvm();
	cJSON *j = run_json("run -w gups:mb=8,updates=50000,seed=7");
	const cJSON *g = cJSON_GetObjectItem(j, "checksum_guest");
	const cJSON *n = cJSON_GetObjectItem(j, "checksum_native");
	cr_assert(cJSON_IsString(g) && cJSON_IsString(n));
	cr_expect_str_eq(g->valuestring, n->valuestring);
	cr_expect_str_neq(g->valuestring, "0x0000000000000000", "gups must load non-zero values");
	cJSON_Delete(j);
}

Test(kvm, ept_toggle_refuses_on_shadow_only_host)
{
	need_kvm();
	struct out info = run("info");
	if (!strstr(info.out, "shadow paging only")) {
		out_free(&info);
		cr_skip("this host has EPT/NPT; the toggle would reload the module");
	}
	struct out o = run("run -w stride:pages=4 --ept off");
	cr_expect_eq(o.status, 2, "exit %d", o.status);
	cr_expect_str_empty(o.out);
	char *nl = strchr(o.err, '\n');
	cr_expect(nl && nl[1] == 0, "expected one line, got:\n%s", o.err);
	cr_expect(strstr(o.err, "no EPT/NPT") != NULL, "%s", o.err);
	out_free(&o);
	out_free(&info);
}

Test(kvm, crashing_guest_reports_registers)
{
	need_kvm();
	struct out o = run("crash 0xdead0000");
	cr_expect_eq(o.status, 1, "exit %d (-1: killed by the timeout, a hang)", o.status);
	cr_expect(strstr(o.err, "KVM_EXIT_SHUTDOWN") != NULL, "%s", o.err);
	cr_expect(strstr(o.err, "RIP ") && strstr(o.err, "RSP ") && strstr(o.err, "CR3 "), "%s",
		  o.err);
	cr_expect(strstr(o.err, "CR2 00000000dead0000") != NULL, "%s", o.err);
	out_free(&o);
}

Test(kvm, demand_paging_serves_one_guest_fault_per_page)
{
	need_kvm();
	cJSON *j = run_json("run -w gups:mb=2,updates=20000 --demand on");
	cr_expect_eq(num(j, "phases.0.guest.guest_page_faults"), 512, "2 MiB of 4 KiB pages");
	cr_expect_eq(num(j, "phases.0.guest.kvm_vcpu.pf_guest"), 512);
	const cJSON *g = cJSON_GetObjectItem(j, "checksum_guest");
	const cJSON *n = cJSON_GetObjectItem(j, "checksum_native");
	cr_assert(cJSON_IsString(g) && cJSON_IsString(n));
	cr_expect_str_eq(g->valuestring, n->valuestring);
	cJSON_Delete(j);
}

Test(kvm, fork_and_switch_share_memory_across_cr3)
{
	need_kvm();
	struct out o = run("selftest 0");
	cr_expect_eq(o.status, 0, "%s", o.err);
	/* child reads 0x1111, writes 0x2222 the parent then reads: 0x1111 * 31 + 0x2222 */
	cr_expect(strstr(o.out, "result 0x23331") != NULL, "%s", o.out);
	out_free(&o);
}

Test(kvm, use_after_unmap_faults)
{
	need_kvm();
	struct out o = run("selftest 1");
	cr_expect_eq(o.status, 1, "exit %d: the guest read an unmapped page", o.status);
	cr_expect(strstr(o.err, "CR2 0000300000000008") != NULL, "%s", o.err);
	out_free(&o);
}

/* Without the slot reload the stale writable shadow entry lets this pass. */
Test(kvm, write_after_protect_faults)
{
	need_kvm();
	struct out o = run("selftest 2");
	cr_expect_eq(o.status, 1, "exit %d: the guest wrote a read-only page", o.status);
	cr_expect(strstr(o.err, "protection fault") != NULL, "%s", o.err);
	out_free(&o);
}

Test(kvm, calibrate_writes_a_cost_profile)
{
	need_kvm();
	char path[] = "/tmp/test_kvm_cost.XXXXXX", args[128];
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	close(fd);
	snprintf(args, sizeof args, "calibrate -o %s", path);
	struct out o = run(args);
	cr_assert_eq(o.status, 0, "%s", o.err);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f);
	char line[256];
	unsigned found = 0;
	static const char *const keys[] = {"vm_exit_ns", "shadow_fault_ns", "pde_write_emul_ns",
					   "guest_fault_ns"};
	while (fgets(line, sizeof line, f))
		for (unsigned i = 0; i < 4; i++) {
			double v;
			char fmt[64];
			snprintf(fmt, sizeof fmt, "%s = %%lf", keys[i]);
			if (sscanf(line, fmt, &v) == 1) {
				cr_expect(v > 0, "%s = %g", keys[i], v);
				found |= 1u << i;
			}
		}
	fclose(f);
	unlink(path);
	cr_expect_eq(found, 0xf, "missing keys in the profile (found mask 0x%x)", found);
	out_free(&o);
}

Test(kvm, hung_guest_times_out_with_registers)
{
	need_kvm();
	struct out o = run("selftest 3");
	cr_expect_eq(o.status, 1, "exit %d (-1: killed by the outer timeout)", o.status);
	cr_expect(strstr(o.err, "timeout") && strstr(o.err, "RIP "), "%s", o.err);
	out_free(&o);
}
