/*
 * kvmh_ept.c - reloading the KVM vendor module with ept=/npt=.
 *
 * Notes:
 *  - The parameter is read-only at run time (0444), so the only way to
 *    change it is `modprobe -r kvm_intel; modprobe kvm_intel ept=N`, which
 *    fails while any VM exists: vmsim-kvm applies it before opening
 *    /dev/kvm, and restores it after closing its VM.
 *  - The restore runs from atexit and from the SIGINT/SIGTERM handler, so
 *    an interrupted run does not leave the host without EPT.
 */
#include "kvmh_ept.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static struct {
	bool changed;
	char module[16], param[8], orig[8];
} st;

static int run_modprobe(const char *a1, const char *a2, const char *a3)
{
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execlp("modprobe", "modprobe", a1, a2, a3, (char *)NULL);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

static int reload(const char *value)
{
	char arg[24];
	snprintf(arg, sizeof arg, "%s=%s", st.param, value);
	int rc = run_modprobe("-r", st.module, NULL);
	if (rc == 0)
		rc = run_modprobe(st.module, arg, NULL);
	return rc;
}

void kvmh_ept_restore(void)
{
	if (!st.changed)
		return;
	st.changed = false;
	if (reload(st.orig) < 0)
		fprintf(stderr, "vmsim-kvm: could not restore %s %s=%s; run: modprobe -r %s && "
			"modprobe %s %s=%s\n", st.module, st.param, st.orig, st.module, st.module,
			st.param, st.orig);
}

static void on_signal(int sig)
{
	kvmh_ept_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

int kvmh_ept_apply(const struct kvmh_host *h, bool on, struct vmerr *err)
{
	const char *what = on ? "on" : "off";
	if (!h->tdp_param[0])
		return vmerr_set(err, VM_EUSAGE, "--ept %s: this host has no EPT/NPT to toggle "
				 "(%s%s); nothing was changed", what, kvmh_mmu_name(h->mmu),
				 h->pvm ? ", PVM host" : ", no kvm_intel/kvm_amd module");
	bool cur = h->tdp_value[0] == 'Y' || h->tdp_value[0] == 'y' || h->tdp_value[0] == '1';
	if (cur == on)
		return 0;
	if (geteuid() != 0)
		return vmerr_set(err, VM_EUSAGE, "--ept %s: changing %s needs root (it reloads the "
				 "module)", what, h->tdp_param);
	bool intel = strstr(h->tdp_param, "kvm_intel") != NULL;
	snprintf(st.module, sizeof st.module, "%s", intel ? "kvm_intel" : "kvm_amd");
	snprintf(st.param, sizeof st.param, "%s", intel ? "ept" : "npt");
	snprintf(st.orig, sizeof st.orig, "%s", cur ? "1" : "0");
	static bool hooked;
	if (!hooked) {
		atexit(kvmh_ept_restore);
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
		hooked = true;
	}
	st.changed = true;
	if (reload(on ? "1" : "0") < 0) {
		kvmh_ept_restore();
		return vmerr_set(err, -EIO, "--ept %s: reloading %s with %s=%d failed (is a VM "
				 "running? close it first); the original setting was restored",
				 what, st.module, st.param, on);
	}
	return 0;
}
