/*
 * kvmh_calib.h - `vmsim-kvm calibrate`: measure this host's virtualization
 * costs and write them as an INI cost profile.
 */
#ifndef KVMH_CALIB_H
#define KVMH_CALIB_H

/* out: INI path, or NULL for stdout.  Returns main's exit status. */
int kvmh_calib_main(const char *out);

#endif
