/* champsim.c - ChampSim trace import: not built yet (issue 4). */
#include "vmt.h"

long trace_import_champsim(const char *path, uint32_t pid, struct ev_sink *sink,
			   struct vmerr *err)
{
	(void)pid;
	(void)sink;
	return vmerr_set(err, VM_EINPUT, "%s: ChampSim import is not built yet", path);
}
