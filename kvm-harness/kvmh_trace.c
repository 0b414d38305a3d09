/*
 * kvmh_trace.c - KVM tracepoint counts.
 *
 * Notes:
 *  - Counting only (no sampling, no ring buffer): one perf event per
 *    tracepoint, on this thread (pid 0, any CPU).  The vCPU runs on this
 *    thread, so everything KVM does inside KVM_RUN is counted, and nothing
 *    done for other VMs.
 *  - Which kvmmmu tracepoints fire where (arch/x86/kvm/mmu/mmutrace.h):
 *    kvm_mmu_pagetable_walk once per guest-table walk KVM does in software
 *    (every shadow fault, and emulation); kvm_mmu_set_spte once per shadow
 *    entry set, prefetched ones included; kvm_mmu_get_page per shadow-page
 *    lookup or creation; kvm_mmu_unsync_page / kvm_mmu_sync_page per table
 *    let go out of sync / resynchronised; kvm_mmu_prepare_zap_page per
 *    shadow page zapped.
 */
#define _GNU_SOURCE
#include "kvmh_trace.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Each tracepoint costs tens of ms to enable and disable (the kernel waits
 * for RCU), so only those a comparison with the model uses are opened. */
static const char *const wanted[] = {
	"kvmmmu:kvm_mmu_pagetable_walk", "kvmmmu:kvm_mmu_set_spte",
	"kvmmmu:kvm_mmu_get_page",       "kvmmmu:kvm_mmu_unsync_page",
	"kvmmmu:kvm_mmu_sync_page",      "kvmmmu:kvm_mmu_prepare_zap_page",
	"kvmmmu:kvm_mmu_zap_all_fast",   "kvmmmu:fast_page_fault",
	"kvmmmu:kvm_mmu_set_dirty_bit",  "kvm:kvm_exit",
	"kvm:kvm_page_fault",            "kvm:kvm_emulate_insn",
};

static const char *const roots[] = {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"};

static int read_id(const char *root, const char *name, uint64_t *id)
{
	char path[256], sys[32];
	const char *colon = strchr(name, ':');
	snprintf(sys, sizeof sys, "%.*s", (int)(colon - name), name);
	snprintf(path, sizeof path, "%s/events/%s/%s/id", root, sys, colon + 1);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	unsigned long long v;
	int ok = fscanf(f, "%llu", &v) == 1;
	fclose(f);
	*id = v;
	return ok ? 0 : -1;
}

static const char *find_root(void)
{
	uint64_t id;
	for (unsigned i = 0; i < 2; i++)
		if (read_id(roots[i], wanted[0], &id) == 0)
			return roots[i];
	return NULL;
}

/* tracefs in a private mount namespace: invisible to the rest of the host. */
static int mount_private(char *why, size_t len)
{
	if (geteuid() != 0) {
		snprintf(why, len, "tracefs is not mounted (mount -t tracefs nodev /sys/kernel/tracing "
			 "as root to enable)");
		return -1;
	}
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("nodev", roots[0], "tracefs", 0, NULL) < 0) {
		snprintf(why, len, "tracefs is not mounted and mounting it privately failed (%s)",
			 strerror(errno));
		return -1;
	}
	return 0;
}

int kvmh_trace_open(struct kvmh_trace *t)
{
	memset(t, 0, sizeof *t);
	const char *root = find_root();
	bool mounted = false;
	if (!root) {
		if (mount_private(t->why, sizeof t->why) < 0)
			return -1;
		mounted = true;
		if (!(root = find_root())) {
			snprintf(t->why, sizeof t->why, "this kernel has no kvmmmu tracepoints "
				 "(CONFIG_FTRACE, or KVM built without them)");
			return -1;
		}
	}
	int last_err = 0;
	for (unsigned i = 0; i < sizeof wanted / sizeof wanted[0] && t->n < KVMH_TRACE_MAX; i++) {
		uint64_t id;
		if (read_id(root, wanted[i], &id) < 0)
			continue;
		struct perf_event_attr a;
		memset(&a, 0, sizeof a);
		a.size = sizeof a;
		a.type = PERF_TYPE_TRACEPOINT;
		a.config = id;
		int fd = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
		if (fd < 0) {
			last_err = errno;
			continue;
		}
		t->name[t->n] = wanted[i];
		t->fd[t->n++] = fd;
	}
	if (!t->n) {
		snprintf(t->why, sizeof t->why, "perf_event_open of the kvmmmu tracepoints failed: %s "
			 "(root, or perf_event_paranoid <= -1, is needed)", strerror(last_err));
		return -1;
	}
	snprintf(t->why, sizeof t->why, "ids from %s/events%s", root,
		 mounted ? ", tracefs mounted in vmsim-kvm's own mount namespace" : "");
	return 0;
}

void kvmh_trace_read(const struct kvmh_trace *t, uint64_t *v)
{
	for (unsigned i = 0; i < t->n; i++)
		if (read(t->fd[i], &v[i], sizeof v[i]) != (ssize_t)sizeof v[i])
			v[i] = 0;
}

void kvmh_trace_close(struct kvmh_trace *t)
{
	for (unsigned i = 0; i < t->n; i++)
		close(t->fd[i]);
	t->n = 0;
}

int kvmh_trace_find(const struct kvmh_trace *t, const char *name)
{
	for (unsigned i = 0; i < t->n; i++)
		if (strcmp(t->name[i], name) == 0)
			return (int)i;
	return -1;
}
