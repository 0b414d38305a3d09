#include "traces/vmt.h"
struct vmt_reader *vmt_reader_open(const char *path, struct vmt_meta *meta, struct vmerr *err) { (void)meta; vmerr_set(err, VM_EINPUT, "%s: traces not built", path); return 0; }
long vmt_read(struct vmt_reader *r, struct vm_event *buf, size_t cap, struct vmerr *err) { return 0; }
void vmt_reader_close(struct vmt_reader *r) {}
uint64_t vmt_reader_offset(const struct vmt_reader *r) { return 0; }
