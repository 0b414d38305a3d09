/*
 * fuzz_config.c - libFuzzer harness for the configuration loader
 * (sim/config.c: cfg_load over inih, and the -s overrides).
 *
 * Input: an INI file, optionally followed by a NUL byte and "-s" overrides,
 * one "section.key=value" per line.  Properties: no out-of-bounds access or
 * leak (sanitizers); a failure has a message; a configuration that loads
 * prints (cfg_print) as a file that loads back to the same value of every
 * key (cfg_get).
 *
 * A string value an INI line cannot carry (';', '#', edge blanks) is refused
 * by config.c (found by this harness; inputs in tests/fuzz/regress/config/).
 */
#include "fuzz_common.h"

#include "sim/config.h"

#define FUZZ_CFG_MAX_SETS 32

static void fuzz_config_roundtrip(const struct cfg *c)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	FUZZ_CHECK(f, "open_memstream failed");
	cfg_print(c, f);
	fclose(f);
	struct cfg back;
	struct vmerr err = {{0}};
	int rc = cfg_load(&back, fuzz_memfile(1, text, len), NULL, 0, &err);
	FUZZ_CHECK(rc == 0, "cfg_print wrote a file cfg_load refuses: %s\n%s", err.msg, text);
	for (unsigned i = 0; i < cfg_key_count(); i++) {
		char name[128], a[256], b[256];
		cfg_key_name(i, name, sizeof name);
		FUZZ_CHECK(cfg_get(c, name, a, sizeof a) == 0, "cfg_get(%s) failed", name);
		FUZZ_CHECK(cfg_get(&back, name, b, sizeof b) == 0, "cfg_get(%s) failed", name);
		FUZZ_CHECK(!strcmp(a, b), "%s = '%s' printed and loaded back as '%s'", name, a, b);
	}
	free(text);
}

int fuzz_config(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t ini_len = nul ? (size_t)(nul - data) : size;
	char *sets[FUZZ_CFG_MAX_SETS];
	int nsets = 0;
	char *ov = NULL;
	if (nul) {
		size_t olen = size - ini_len - 1;
		ov = malloc(olen + 1);
		FUZZ_CHECK(ov, "out of memory");
		memcpy(ov, nul + 1, olen);
		ov[olen] = 0; /* a further NUL just ends the overrides early */
		for (char *save = NULL, *s = strtok_r(ov, "\n", &save); s && nsets < FUZZ_CFG_MAX_SETS;
		     s = strtok_r(NULL, "\n", &save))
			sets[nsets++] = s;
	}
	struct cfg c;
	struct vmerr err = {{0}};
	int rc = cfg_load(&c, fuzz_memfile(0, data, ini_len), sets, nsets, &err);
	if (rc < 0)
		FUZZ_CHECK(err.msg[0], "cfg_load failed (%d) without a message", rc);
	else
		fuzz_config_roundtrip(&c);
	free(ov);
	return 0;
}

#ifndef FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_config(data, size); }
#endif
