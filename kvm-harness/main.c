/*
 * main.c - the vmsim-kvm command line: info, run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvmh_host.h"
#include "kvmh_run.h"

static int cmd_info(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	struct kvmh_host h;
	kvmh_host_probe(&h);
	kvmh_host_print(&h, stdout);
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
		.g = {.page = PS_4K, .thp = -1, .ad = false},
		.balloon_phase = -1,
		.ept = -1,
		.timeout_s = 60,
	};
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
		if (strcmp(a, "-w") == 0) {
			o.spec = v;
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
	return kvmh_run_main(&o);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: vmsim-kvm info\n"
		   "       vmsim-kvm run -w WORKLOAD[:k=v,...] [--guest-page 4k|2m] [--host-thp on|off]\n"
		   "                     [--ad on|off] [--balloon MIB[@PHASE]] [--ept on|off] [--json]\n"
		   "                     [--timeout SEC] [--no-native]\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "info") == 0)
		return cmd_info(argc - 1, argv + 1);
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
