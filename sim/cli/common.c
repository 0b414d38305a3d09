/* common.c - shared option handling and event feeding for the commands. */
#include "common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../traces/vmt.h"
#include "../pt_format.h"
#include "cli.h"

int cli_common_opt(const char *cmd, struct run_args *a, int opt, const char *arg)
{
	switch (opt) {
	case 'c': a->config = arg; return 1;
	case 'm': a->mode = arg; return 1;
	case 'w': a->workload = arg; return 1;
	case 't': a->trace = arg; return 1;
	case 'o': a->out = arg; return 1;
	case 's':
		if (a->nsets == CLI_MAX_SETS) {
			cli_usage_error(cmd, "more than %d -s options", CLI_MAX_SETS);
			return -1;
		}
		a->sets[a->nsets++] = (char *)arg;
		return 1;
	}
	return 0;
}

int cli_setup(const char *cmd, const struct run_args *a, struct cfg *cfg,
	      const struct mmu_ops **mode, struct vmerr *err)
{
	if (!!a->workload == !!a->trace)
		return vmerr_set(err, VM_EUSAGE, "%s: give exactly one of -w WORKLOAD and -t TRACE", cmd);
	*mode = mmu_find(a->mode ? a->mode : "native");
	if (!*mode)
		return vmerr_set(err, VM_EUSAGE, "%s: unknown mode '%s' (modes: %s)", cmd, a->mode,
				 mmu_names());
	int rc = cfg_load(cfg, a->config, a->sets, a->nsets, err);
	/* The aliases say which host table format they mean. */
	if (rc == 0 && a->mode && !strcmp(a->mode, "ept"))
		cfg->host_format = PT_EPT;
	if (rc == 0 && a->mode && !strcmp(a->mode, "npt"))
		cfg->host_format = PT_NPT;
	/* A workload's threads run on vCPUs of the same numbers. */
	const struct wl_desc *d;
	uint64_t p[WL_MAX_PARAMS + 1];
	if (rc == 0 && a->workload && wl_parse(a->workload, &d, p, err) == 0)
		cfg_need_vcpus(cfg, wl_threads(d, p));
	return rc;
}

#define BATCH 4096

int cli_feed(const struct run_args *a, struct sim *s, char *ident, size_t ilen, struct vmerr *err)
{
	static struct vm_event buf[BATCH];
	if (a->workload) {
		const struct wl_desc *d;
		uint64_t p[WL_MAX_PARAMS + 1];
		int rc = wl_parse(a->workload, &d, p, err);
		if (rc < 0)
			return rc;
		char params[VMT_PARAMS_MAX];
		wl_format_params(d, p, params, sizeof params);
		snprintf(ident, ilen, "%s:%s", d->name, params);
		struct ev_sink sink = {.buf = buf, .cap = BATCH, .flush = sim_consume, .arg = s};
		rc = wl_generate(d, p, &sink);
		if (rc < 0)
			return vmerr_set(err, rc, "workload %s: %s", d->name, s->errmsg.msg);
		return 0;
	}
	struct vmt_meta meta;
	struct vmt_reader *r = vmt_reader_open(a->trace, &meta, err);
	if (!r)
		return VM_EINPUT;
	snprintf(ident, ilen, "trace:%s", a->trace);
	long n;
	int rc = 0;
	while ((n = vmt_read(r, buf, BATCH, err)) > 0) {
		rc = sim_consume(s, buf, (size_t)n);
		if (rc < 0) {
			vmerr_set(err, rc, "%s: offset %llu: %s", a->trace,
				  (unsigned long long)vmt_reader_offset(r), s->errmsg.msg);
			break;
		}
	}
	if (n < 0)
		rc = (int)n;
	vmt_reader_close(r);
	return rc;
}

int cli_out_open(struct cli_out *o, const char *path, struct vmerr *err)
{
	memset(o, 0, sizeof *o);
	if (!path || !strcmp(path, "-")) {
		o->f = stdout;
		return 0;
	}
	o->path = path;
	snprintf(o->tmp, sizeof o->tmp, "%s.tmp.%ld", path, (long)getpid());
	o->f = fopen(o->tmp, "w");
	if (!o->f)
		return vmerr_set(err, VM_EINPUT, "%s: cannot write: %s", o->tmp, strerror(errno));
	return 0;
}

int cli_out_commit(struct cli_out *o, struct vmerr *err)
{
	if (!o->path)
		return fflush(stdout) == 0 ? 0 : vmerr_set(err, VM_EIO, "cannot write to stdout");
	int bad = ferror(o->f);
	if (fclose(o->f) != 0 || bad) {
		unlink(o->tmp);
		return vmerr_set(err, VM_EIO, "%s: write failed", o->path);
	}
	if (rename(o->tmp, o->path) != 0) {
		int e = errno;
		unlink(o->tmp);
		return vmerr_set(err, VM_EIO, "%s: cannot rename into place: %s", o->path, strerror(e));
	}
	return 0;
}

void cli_out_abort(struct cli_out *o)
{
	if (o->path && o->f) {
		fclose(o->f);
		unlink(o->tmp);
	}
	o->f = NULL;
}
