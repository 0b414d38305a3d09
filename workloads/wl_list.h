/*
 * wl_list.h - every built-in workload, in the order `vmsim workloads` lists
 * them.  One X-macro list serves the simulator registry (registry.c) and the
 * freestanding one (fs/wl_fs.c), so the two builds cannot disagree.
 * Adding a workload: write workloads/NAME.c defining `const struct wl_desc
 * wl_NAME`, then add WL(NAME, wl_NAME) here.  The one exception is syscall,
 * whose descriptor is wl_syscall_loop: wl_syscall() is the operation.
 */
WL(syscall, wl_syscall_loop)
WL(io, wl_io)
WL(cr8wr, wl_cr8wr)
WL(callret, wl_callret)
WL(pgfault, wl_pgfault)
WL(divzero, wl_divzero)
WL(ptemod, wl_ptemod)
WL(cr3switch, wl_cr3switch)
WL(stride, wl_stride)
WL(chase, wl_chase)
WL(gups, wl_gups)
WL(stream, wl_stream)
WL(matmul, wl_matmul)
WL(kvstore, wl_kvstore)
WL(bfs, wl_bfs)
WL(compile, wl_compile)
WL(forkwait, wl_forkwait)
WL(ctxswitch, wl_ctxswitch)
