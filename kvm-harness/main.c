/*
 * main.c - the vmsim-kvm command line: info, run, ping, crash.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

#include "kvmh_calib.h"
#include "kvmh_cpl0.h"
#include "kvmh_guest.h"
#include "kvmh_host.h"
#include "kvmh_run.h"
#include "kvmh_trace.h"

static int cmd_info(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	struct kvmh_host h;
	struct kvmh_trace t;
	kvmh_host_probe(&h);
	kvmh_host_print(&h, stdout);
	if (kvmh_trace_open(&t) == 0)
		printf("tracepoints:      %u kvm/kvmmmu tracepoints count (%s)\n", t.n, t.why);
	else
		printf("tracepoints:      not available: %s\n", t.why);
	kvmh_trace_close(&t);
	return h.api < 0 ? 1 : 0;
}

static void usage(FILE *f);

static int on_off(const char *opt, const char *v)
{
	if (v && strcmp(v, "on") == 0)
		return 1;
	if (v && strcmp(v, "off") == 0)
		return 0;
	fprintf(stderr, "vmsim-kvm: %s expects on or off, not '%s'\n", opt, v ? v : "");
	return -1;
}

static int cmd_run(int argc, char **argv)
{
	struct kvmh_run_opts o = {
		.g = {.page = PS_4K, .thp = -1, .ad = false, .guest_ptw = true},
		.balloon_phase = -1,
		.ept = -1,
		.timeout_s = 60,
		.counters = true,
	};
	const char *setup = "auto", *b_only = NULL;
	bool setup_given = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int b;
		if (strcmp(a, "--json") == 0) {
			o.json = true;
			continue;
		}
		if (strcmp(a, "--no-native") == 0) {
			o.no_native = true;
			continue;
		}
		if (!v) {
			fprintf(stderr, "vmsim-kvm run: %s needs a value\n", a);
			return 2;
		}
		i++;
		/* Options other than these shape set-up (b)'s run only. */
		if (!b_only && strcmp(a, "-w") && strcmp(a, "--setup") && strcmp(a, "--timeout"))
			b_only = a;
		if (strcmp(a, "-w") == 0) {
			o.spec = v;
		} else if (strcmp(a, "--setup") == 0) {
			if (strcmp(v, "a") && strcmp(v, "b") && strcmp(v, "auto")) {
				fprintf(stderr, "vmsim-kvm run: --setup expects a, b or auto, not '%s'\n", v);
				return 2;
			}
			setup = v;
			setup_given = true;
		} else if (strcmp(a, "--guest-page") == 0) {
			if (ps_parse(v, &o.g.page) < 0 || o.g.page == PS_1G) {
				fprintf(stderr, "vmsim-kvm run: --guest-page expects 4k or 2m, not '%s' "
					"(no 1 GiB pages on this host's CPUID)\n", v);
				return 2;
			}
		} else if (strcmp(a, "--host-thp") == 0) {
			if ((b = on_off(a, v)) < 0)
				return 2;
			o.g.thp = b;
		} else if (strcmp(a, "--ad") == 0) {
			if ((b = on_off(a, v)) < 0)
				return 2;
			o.g.ad = b;
		} else if (strcmp(a, "--prefault") == 0) {
			if ((b = on_off(a, v)) < 0)
				return 2;
			o.g.prefault = b;
		} else if (strcmp(a, "--demand") == 0) {
			if ((b = on_off(a, v)) < 0)
				return 2;
			o.g.demand = b;
		} else if (strcmp(a, "--guest-ptw") == 0) {
			if ((b = on_off(a, v)) < 0)
				return 2;
			o.g.guest_ptw = b;
		} else if (strcmp(a, "--counters") == 0) {
			if ((b = on_off(a, v)) < 0)
				return 2;
			o.counters = b;
		} else if (strcmp(a, "--ept") == 0) {
			if ((b = on_off(a, v)) < 0)
				return 2;
			o.ept = b;
		} else if (strcmp(a, "--balloon") == 0) {
			char *end;
			o.balloon_mib = strtoull(v, &end, 10);
			if (*end == '@')
				o.balloon_phase = (int64_t)strtoull(end + 1, &end, 10);
			if (*end || !o.balloon_mib) {
				fprintf(stderr, "vmsim-kvm run: --balloon expects MIB[@PHASE], e.g. 64 or "
					"64@1, not '%s'\n", v);
				return 2;
			}
		} else if (strcmp(a, "--timeout") == 0) {
			o.timeout_s = (unsigned)strtoul(v, NULL, 10);
			if (!o.timeout_s)
				o.timeout_s = 60;
		} else {
			fprintf(stderr, "vmsim-kvm run: unknown option '%s'\n", a);
			usage(stderr);
			return 2;
		}
	}
	if (!o.spec) {
		fprintf(stderr, "vmsim-kvm run: -w WORKLOAD[:k=v,...] is required\n");
		return 2;
	}
	if (strcmp(setup, "auto") == 0) {
		struct kvmh_host h;
		kvmh_host_probe(&h);
		setup = h.setup == 'a' ? "a" : "b";
		if (setup_given)
			fprintf(stderr, "vmsim-kvm: --setup auto: set-up (%s): %s\n", setup,
				h.setup_why);
	}
	if (strcmp(setup, "a") == 0) {
		if (b_only || o.json) {
			fprintf(stderr, "vmsim-kvm run: %s applies to set-up (b) only (--setup b)\n",
				o.json ? "--json" : b_only);
			return 2;
		}
		return kvmh_cpl0_main(o.spec, o.no_native, o.timeout_s);
	}
	return kvmh_run_main(&o);
}

static int guest_up(struct kvmh_guest *g, struct vmerr *err)
{
	struct kvmh_guest_opts o = {.page = PS_4K, .thp = -1, .guest_ptw = true};
	if (getenv("VMSIM_KVM_GUEST_PTW") && strcmp(getenv("VMSIM_KVM_GUEST_PTW"), "off") == 0)
		o.guest_ptw = false;
	int rc = kvmh_guest_init(g, &o, err);
	if (rc < 0)
		fprintf(stderr, "vmsim-kvm: %s\n", err->msg);
	return rc;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmd_ping(int argc, char **argv)
{
	static struct kvmh_guest g;
	struct vmerr err;
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 0) : 1000;
	if (guest_up(&g, &err) < 0)
		return 1;
	uint64_t arg[3] = {1, 0, 0}; /* warm up: first entry faults the payload in */
	int rc = kvmh_guest_run(&g, KVMH_CMD_PING, arg, NULL, NULL, 0, 60, &err);
	double t0 = now_s();
	arg[0] = n;
	if (rc == 0)
		rc = kvmh_guest_run(&g, KVMH_CMD_PING, arg, NULL, NULL, 0, 60, &err);
	double t = now_s() - t0;
	kvmh_guest_fini(&g);
	if (rc < 0) {
		fprintf(stderr, "vmsim-kvm: %s\n", err.msg);
		return 1;
	}
	printf("doorbell round trip: %.2f us (%" PRIu64 " MMIO exits in %.3f ms, entry included)\n",
	       t / (double)(n + 1) * 1e6, n + 1, t * 1e3);
	return 0;
}

static int cmd_crash(int argc, char **argv)
{
	static struct kvmh_guest g;
	struct vmerr err;
	uint64_t arg[3] = {argc > 1 ? strtoull(argv[1], NULL, 0) : 0xdead0000ull, 0, 0};
	if (guest_up(&g, &err) < 0)
		return 1;
	int rc = kvmh_guest_run(&g, KVMH_CMD_CRASH, arg, NULL, NULL, 0, 10, &err);
	kvmh_guest_fini(&g);
	if (rc < 0) {
		fprintf(stderr, "vmsim-kvm: %s\n", err.msg);
		return 1;
	}
	printf("the guest read 0x%" PRIx64 " without faulting\n", arg[0]);
	return 0;
}

static int cmd_selftest(int argc, char **argv)
{
	static struct kvmh_guest g;
	struct vmerr err;
	uint64_t arg[3] = {argc > 1 ? strtoull(argv[1], NULL, 0) : 0, 0, 0};
	if (guest_up(&g, &err) < 0)
		return 1;
	/* Variant 3 hangs on purpose: a short timeout keeps its test fast. */
	int rc = kvmh_guest_run(&g, KVMH_CMD_SELFTEST, arg, NULL, NULL, 0, arg[0] == 3 ? 1 : 10,
				&err);
	kvmh_guest_fini(&g);
	if (rc < 0) {
		fprintf(stderr, "vmsim-kvm: %s\n", err.msg);
		return 1;
	}
	printf("selftest %" PRIu64 ": result 0x%" PRIx64 "\n", arg[0], g.checksum);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: vmsim-kvm info\n"
		   "       vmsim-kvm run -w WORKLOAD[:k=v,...] [--setup a|b|auto] [--guest-page 4k|2m]\n"
		   "                     [--host-thp on|off]\n"
		   "                     [--balloon MIB[@PHASE]] [--ept on|off] [--json]\n"
		   "                     [--ad on|off] [--prefault on|off] [--demand on|off]\n"
		   "                     [--timeout SEC] [--no-native] [--counters on|off]\n"
		   "                     [--guest-ptw on|off]\n"
		   "       vmsim-kvm calibrate [-o FILE.ini]  VM exit, shadow fault, PT-write costs\n"
		   "       vmsim-kvm ping [N]        doorbell (MMIO exit) round trip, N times\n"
		   "       vmsim-kvm crash [VA]      make the guest fault at VA: shows the report\n"
		   "       vmsim-kvm selftest [0-3]  fork+switch; use after unmap; write after protect;\n"
		   "                                 a hung guest (1 s timeout)\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "info") == 0)
		return cmd_info(argc - 1, argv + 1);
	if (strcmp(argv[1], "ping") == 0)
		return cmd_ping(argc - 1, argv + 1);
	if (strcmp(argv[1], "calibrate") == 0) {
		const char *out = NULL;
		for (int i = 2; i + 1 < argc; i++)
			if (strcmp(argv[i], "-o") == 0)
				out = argv[i + 1];
		return kvmh_calib_main(out);
	}
	if (strcmp(argv[1], "selftest") == 0)
		return cmd_selftest(argc - 1, argv + 1);
	if (strcmp(argv[1], "crash") == 0)
		return cmd_crash(argc - 1, argv + 1);
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "vmsim-kvm: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
