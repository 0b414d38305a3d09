/*
 * types.h - address types and page sizes shared by every part of vmsim.
 *
 * Names say which space a value lives in: a gva_t is a guest-virtual address,
 * a gpa_t guest-physical, an hpa_t host-physical.  In native mode there is no
 * host dimension and "physical" is gpa_t.  The typedefs do not stop mixing at
 * compile time; the names are for the reader.
 */
#ifndef VMSIM_TYPES_H
#define VMSIM_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t gva_t;
typedef uint64_t gpa_t;
typedef uint64_t hpa_t;

/* Leaf sizes x86-64 can map.  The order is the order of size; code indexes
 * arrays with it. */
enum page_size { PS_4K = 0, PS_2M = 1, PS_1G = 2, PS_COUNT = 3 };

static inline unsigned ps_shift(enum page_size ps) { return 12u + 9u * (unsigned)ps; }
static inline uint64_t ps_bytes(enum page_size ps) { return 1ull << ps_shift(ps); }
const char *ps_name(enum page_size ps);           /* "4k", "2m", "1g" */
int ps_parse(const char *s, enum page_size *out); /* 0, or -1 if not a size */

#define VM_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#if defined(__GNUC__)
#define VM_LIKELY(x) __builtin_expect(!!(x), 1)
#define VM_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define VM_LIKELY(x) (x)
#define VM_UNLIKELY(x) (x)
#endif

#endif
