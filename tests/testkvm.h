/*
 * testkvm.h - what the KVM tests share: finding vmsim and vmsim-kvm, skipping
 * where /dev/kvm is not usable, and running a binary with stdout and stderr
 * kept apart.  Header-only; every function is static inline.
 */
#ifndef VMSIM_TESTKVM_H
#define VMSIM_TESTKVM_H

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static inline const char *kvm_bin(void)
{
	static char path[1024];
	const char *e = getenv("VMSIM_KVM");
	if (e && *e)
		return e;
	snprintf(path, sizeof path, "%s/kvm-harness/vmsim-kvm", VMSIM_BINARY_DIR);
	return path;
}

static inline const char *vmsim_bin(void)
{
	static char path[1024];
	const char *e = getenv("VMSIM");
	if (e && *e)
		return e;
	snprintf(path, sizeof path, "%s/vmsim", VMSIM_BINARY_DIR);
	return path;
}

/* Skip (saying why, under the test program's name) unless /dev/kvm opens and
 * vmsim-kvm is built. */
static inline void need_kvm_for(const char *who)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		const char *why = strerror(errno);
		printf("%s: skipped: /dev/kvm not usable here (%s)\n", who, why);
		cr_skip("/dev/kvm not usable here (%s)", why);
	}
	close(fd);
	if (access(kvm_bin(), X_OK) != 0) {
		printf("%s: skipped: %s not built\n", who, kvm_bin());
		cr_skip("%s not built", kvm_bin());
	}
}

struct out {
	char *out, *err; /* malloc'd */
	int status;      /* exit status, or -1 if killed */
};

static inline char *slurp(FILE *f)
{
	size_t cap = 1 << 16, n = 0, r;
	char *b = malloc(cap);
	while ((r = fread(b + n, 1, cap - n - 1, f)) > 0) {
		n += r;
		if (n + 1 == cap)
			b = realloc(b, cap *= 2);
	}
	b[n] = 0;
	return b;
}

/* Run "ENV timeout SECONDS 'BIN' ARGS" (ARGS a shell fragment); stdout and
 * stderr apart. */
static inline struct out run_cmd(const char *env, const char *bin, const char *args, int seconds)
{
	char errpath[] = "/tmp/testkvm.XXXXXX", cmd[4096];
	int efd = mkstemp(errpath);
	cr_assert_geq(efd, 0);
	close(efd);
	snprintf(cmd, sizeof cmd, "%s timeout %d '%s' %s 2>%s", env ? env : "", seconds, bin, args,
		 errpath);
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

static inline void out_free(struct out *o)
{
	free(o->out);
	free(o->err);
}

#endif
