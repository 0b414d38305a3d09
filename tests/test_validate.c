/*
 * test_validate.c - `vmsim validate`: the model beside the KVM harness.
 *
 * The tests that need /dev/kvm skip where it is not usable (and say why);
 * the command-line ones run everywhere.  Counts are checked where model and
 * KVM count the same thing on this harness (see the notes validate prints);
 * times are not asserted, only reported, since they depend on the machine.
 */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testkvm.h"

static void need_kvm(void) { need_kvm_for("test_validate"); }

static struct out validate(const char *env, const char *args)
{
	char va[1800];
	snprintf(va, sizeof va, "validate %s", args);
	return run_cmd(env, vmsim_bin(), va, 50);
}

static const cJSON *row(const cJSON *j, const char *list, const char *name)
{
	const cJSON *r;
	cJSON_ArrayForEach(r, cJSON_GetObjectItem(j, list))
	{
		const cJSON *n = cJSON_GetObjectItem(r, "name");
		if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0)
			return r;
	}
	cr_assert_fail("no row '%s' in %s", name, list);
	return NULL;
}

static double field(const cJSON *r, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(r, key);
	cr_assert(cJSON_IsNumber(v), "no number %s in row %s", key,
		  cJSON_GetObjectItem(r, "name")->valuestring);
	return v->valuedouble;
}

static cJSON *validate_json(const char *args)
{
	char a[1024];
	snprintf(a, sizeof a, "%s --json", args);
	struct out o = validate(NULL, a);
	cr_assert_eq(o.status, 0, "vmsim validate %s: exit %d\n%s", a, o.status, o.err);
	cJSON *j = cJSON_Parse(o.out);
	cr_assert_not_null(j, "not JSON:\n%s", o.out);
	out_free(&o);
	cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(j, "checksum_match")), "%s", args);
	return j;
}

/* Within tol, or `slack` apart: the guest's first touches of its page-table
 * view and of the echo list are shadow faults of the harness's own (a
 * kernel's first writes to its tables fault the same way), which the
 * model's stream of user accesses does not hold. */
static void expect_near(const cJSON *j, const char *name, double tol, double slack)
{
	const cJSON *r = row(j, "counts", name);
	double p = field(r, "predicted"), m = field(r, "measured");
	cr_expect(fabs(p - m) <= tol * (m > p ? m : p) || fabs(p - m) <= slack,
		  "%s: model %.0f, KVM %.0f", name, p, m);
}

static void expect_rel(const cJSON *j, const char *name, double tol)
{
	expect_near(j, name, tol, 0);
}

/* The text table, with calibrate run first (no --calibrated). */
Test(validate, stride_prints_a_table)
{
	need_kvm();
	struct out o = validate(NULL, "-w stride:pages=1024,passes=2,write=1 --repeat 1");
	cr_assert_eq(o.status, 0, "exit %d\n%s", o.status, o.err);
	static const char *const want[] = {
		"counts", "predicted", "measured", "shadow faults fixed", "guest page faults",
		"page-table writes emulated", "VM exits", "guest / native", "vmsim-kvm calibrate",
		"notes:"};
	for (unsigned i = 0; i < sizeof want / sizeof want[0]; i++)
		cr_expect(strstr(o.out, want[i]) != NULL, "no '%s' in:\n%s", want[i], o.out);
	printf("%s", o.out);
	out_free(&o);
}

/* First touch on demand: one guest fault and one shadow fault per page in
 * both, and the model's trapped PTE writes (the first of each leaf table)
 * are the guest's own in the harness too. */
Test(validate, stride_counts_match)
{
	need_kvm();
	cJSON *j = validate_json("-w stride:pages=2048,passes=2,write=1 --defaults --repeat 1");
	expect_rel(j, "shadow faults fixed", 0.02);
	expect_rel(j, "guest page faults", 0.0);
	expect_rel(j, "#PF exits", 0.02);
	expect_rel(j, "VM exits both have", 0.02);
	expect_rel(j, "page-table writes emulated", 0.0);
	cJSON_Delete(j);
}

/* A load then a store per fresh page: a fill and a dirty-bit fault each. */
Test(validate, gups_counts_match)
{
	need_kvm();
	cJSON *j = validate_json("-w gups:mb=4,updates=20000 --defaults --repeat 1");
	expect_rel(j, "shadow faults fixed", 0.02);
	expect_rel(j, "guest page faults", 0.0);
	const cJSON *se = row(j, "counts", "shadow entries set");
	if (cJSON_IsNumber(cJSON_GetObjectItem(se, "measured")))
		expect_rel(j, "shadow entries set", 0.02);
	cJSON_Delete(j);
}

/* Protect/unprotect: INVLPG per protect, one unsync of the leaf table. */
Test(validate, ptemod_invlpg_and_unsync_match)
{
	need_kvm();
	cJSON *j = validate_json("-w ptemod:iters=50 --defaults --repeat 1");
	expect_rel(j, "INVLPG exits", 0.0);
	expect_near(j, "shadow faults fixed", 0.02, 4);
	const cJSON *u = row(j, "counts", "tables let go out of sync");
	if (cJSON_IsNumber(cJSON_GetObjectItem(u, "measured")))
		expect_rel(j, "tables let go out of sync", 0.0);
	cJSON_Delete(j);
}

Test(validate, needs_a_workload)
{
	struct out o = validate(NULL, "");
	cr_expect_eq(o.status, 2);
	cr_expect(strstr(o.err, "-w WORKLOAD") != NULL, "%s", o.err);
	out_free(&o);
}

Test(validate, says_where_the_harness_should_be)
{
	struct out o = validate("VMSIM_KVM=/nonexistent/vmsim-kvm", "-w stride");
	cr_expect_eq(o.status, 2, "exit %d", o.status);
	cr_expect(strstr(o.err, "/nonexistent/vmsim-kvm") && strstr(o.err, "VMSIM_KVM"), "%s",
		  o.err);
	cr_expect_str_empty(o.out);
	out_free(&o);
}
