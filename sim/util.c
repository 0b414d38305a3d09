/* util.c - small shared helpers: errors, page-size names, events as text. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "event.h"

int vmerr_set(struct vmerr *e, int code, const char *fmt, ...)
{
	if (e) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof e->msg, fmt, ap);
		va_end(ap);
	}
	return code;
}

int vmerr_exit_status(int code)
{
	if (code >= 0)
		return 0;
	return (code == VM_EINPUT || code == VM_EUSAGE) ? 2 : 1;
}

static const char *const ps_names[PS_COUNT] = {"4k", "2m", "1g"};

const char *ps_name(enum page_size ps)
{
	return (unsigned)ps < PS_COUNT ? ps_names[ps] : "?";
}

int ps_parse(const char *s, enum page_size *out)
{
	for (unsigned i = 0; i < PS_COUNT; i++)
		if (strcasecmp(s, ps_names[i]) == 0) {
			*out = (enum page_size)i;
			return 0;
		}
	return -1;
}

static const char *const kind_names[EV_KIND_COUNT] = {
	"access", "switch", "map", "unmap", "protect", "fork", "exit",
	"syscall", "io", "cr8", "exception", "callret", "phase"};

const char *ev_kind_name(enum ev_kind k)
{
	return (unsigned)k < EV_KIND_COUNT ? kind_names[k] : "?";
}

int ev_kind_parse(const char *s)
{
	for (unsigned i = 0; i < EV_KIND_COUNT; i++)
		if (strcmp(s, kind_names[i]) == 0)
			return (int)i;
	return -1;
}

static void prot_str(unsigned prot, char out[4])
{
	out[0] = (prot & VM_PROT_R) ? 'r' : '-';
	out[1] = (prot & VM_PROT_W) ? 'w' : '-';
	out[2] = (prot & VM_PROT_X) ? 'x' : '-';
	out[3] = 0;
}

int ev_format(const struct vm_event *ev, char *buf, size_t len)
{
	static const char *const ops[] = {"load", "store", "fetch"};
	char prot[4];
	const char *k = ev_kind_name((enum ev_kind)ev->kind);

	switch (ev->kind) {
	case EV_ACCESS:
		return snprintf(buf, len, "cpu%u pid %" PRIu32 " %-5s 0x%" PRIx64 " %u", ev->vcpu,
				ev->pid, ev->op < 3 ? ops[ev->op] : "?", ev->addr, ev->size);
	case EV_MAP:
	case EV_PROTECT:
		prot_str(ev->op, prot);
		return snprintf(buf, len, "cpu%u pid %" PRIu32 " %s 0x%" PRIx64 " +0x%" PRIx64 " %s",
				ev->vcpu, ev->pid, k, ev->addr, ev->arg, prot);
	case EV_UNMAP:
		return snprintf(buf, len, "cpu%u pid %" PRIu32 " %s 0x%" PRIx64 " +0x%" PRIx64,
				ev->vcpu, ev->pid, k, ev->addr, ev->arg);
	case EV_SWITCH:
	case EV_EXIT:
		return snprintf(buf, len, "cpu%u pid %" PRIu32 " %s", ev->vcpu, ev->pid, k);
	case EV_FORK:
		return snprintf(buf, len, "cpu%u pid %" PRIu32 " fork child %" PRIu64, ev->vcpu,
				ev->pid, ev->arg);
	case EV_IO:
		return snprintf(buf, len, "cpu%u pid %" PRIu32 " io %s port 0x%" PRIx64, ev->vcpu,
				ev->pid, ev->op == EV_IO_OUT ? "out" : "in", ev->arg);
	case EV_CALLRET:
		return snprintf(buf, len, "cpu%u pid %" PRIu32 " %s 0x%" PRIx64, ev->vcpu, ev->pid,
				ev->op == EV_RET ? "ret" : "call", ev->addr);
	default:
		return snprintf(buf, len, "cpu%u pid %" PRIu32 " %s %" PRIu64, ev->vcpu, ev->pid, k,
				ev->arg);
	}
}

int ev_sink_flush(struct ev_sink *s)
{
	if (s->n && !s->err) {
		int rc = s->flush(s->arg, s->buf, s->n);
		if (rc < 0)
			s->err = rc;
	}
	s->n = 0;
	return s->err;
}
