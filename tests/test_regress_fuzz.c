/*
 * test_regress_fuzz.c - every saved fuzzer input, replayed in the normal build.
 *
 * The libFuzzer harnesses (tests/fuzz/fuzz_NAME.c) are included here without
 * their LLVMFuzzerTestOneInput, and each file of
 *     tests/fuzz/corpus/NAME/    the seed corpus, and
 *     tests/fuzz/regress/NAME/   inputs that once crashed or broke a property
 * goes through fuzz_NAME(), the function the fuzzer calls.  A harness aborts
 * on a broken property, so a regression fails its test with the input's
 * name in the log.
 *
 * tests/fuzz/known/NAME/ holds inputs that reproduce a bug not fixed yet,
 * with a NOTE file saying which; their tests below are disabled (Criterion
 * reports them as skipped).  Whoever fixes the bug enables the test and
 * moves the inputs to regress/.
 */
#define FUZZ_NO_ENTRY
#include "fuzz/fuzz_champsim.c"
#include "fuzz/fuzz_config.c"
#include "fuzz/fuzz_lackey.c"
#include "fuzz/fuzz_vmt.c"
#include "fuzz/fuzz_wlparse.c"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>

#define FUZZ_DIR VMSIM_SOURCE_DIR "/tests/fuzz"

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	size_t cap = 4096, n = 0;
	uint8_t *b = malloc(cap);
	cr_assert_not_null(b);
	size_t got;
	while ((got = fread(b + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			cap *= 2;
			b = realloc(b, cap);
			cr_assert_not_null(b);
		}
	}
	cr_assert(!ferror(f), "%s: read failed", path);
	fclose(f);
	*len = n;
	return b;
}

/* Feed every file of FUZZ_DIR/sub/name/ to fn; returns how many ran.
 * Missing directories hold nothing. */
static unsigned replay(const char *sub, const char *name, int (*fn)(const uint8_t *, size_t))
{
	char dir[1024];
	snprintf(dir, sizeof dir, "%s/%s/%s", FUZZ_DIR, sub, name);
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	unsigned ran = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, "NOTE"))
			continue;
		char path[2048];
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		size_t len;
		uint8_t *data = slurp(path, &len);
		cr_log_info("%s (%zu bytes)", path, len);
		fn(data, len);
		free(data);
		ran++;
	}
	closedir(d);
	return ran;
}

#define REGRESS(name)                                                                   \
	Test(regress_fuzz, name)                                                        \
	{                                                                               \
		unsigned seeds = replay("corpus", #name, fuzz_##name);                 \
		replay("regress", #name, fuzz_##name);                                 \
		cr_assert_gt(seeds, 0, "no seed corpus in %s/corpus/%s", FUZZ_DIR, #name); \
	}

REGRESS(vmt)
REGRESS(lackey)
REGRESS(champsim)
REGRESS(config)
REGRESS(wlparse)

