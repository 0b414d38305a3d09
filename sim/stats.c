/* stats.c - reports driven by the VM_STATS list. */
#include "stats.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[] = {
#define X(name, unit, desc) #name,
	VM_STATS(X)
#undef X
};
static const char *const units[] = {
#define X(name, unit, desc) unit,
	VM_STATS(X)
#undef X
};
static const char *const descs[] = {
#define X(name, unit, desc) desc,
	VM_STATS(X)
#undef X
};

unsigned stats_count(void) { return VM_ARRAY_SIZE(names); }
const char *stats_name(unsigned i) { return i < stats_count() ? names[i] : NULL; }
uint64_t stats_value(const struct stats *s, unsigned i) { return ((const uint64_t *)s)[i]; }

uint64_t stats_cycles(const struct stats *s)
{
	uint64_t sum = 0;
	for (unsigned i = 0; i < stats_count(); i++)
		if (!strncmp(names[i], "cycles_", 7))
			sum += stats_value(s, i);
	return sum;
}

double stats_cycles_per_access(const struct stats *s)
{
	return s->accesses ? (double)stats_cycles(s) / (double)s->accesses : 0.0;
}

static double pct(uint64_t a, uint64_t b) { return b ? 100.0 * (double)a / (double)b : 0.0; }

void stats_print_text(const struct stats *s, const struct stats_ident *id, FILE *f)
{
	uint64_t cyc = stats_cycles(s);
	fprintf(f, "vmsim run: mode %s, workload %s\n", id->mode, id->workload);
	fprintf(f, "config:    %s\n\n", id->config);
	fprintf(f, "  accesses           %14" PRIu64 "  (%" PRIu64 " loads, %" PRIu64 " stores, %" PRIu64 " fetches)\n",
		s->accesses, s->loads, s->stores, s->fetches);
	fprintf(f, "  L1 TLB misses      %14" PRIu64 "  %6.2f%% of accesses\n", s->tlb_l1_misses,
		pct(s->tlb_l1_misses, s->accesses));
	fprintf(f, "  L2 TLB misses      %14" PRIu64 "  %6.2f%% of L1 misses\n", s->tlb_l2_misses,
		pct(s->tlb_l2_misses, s->tlb_l1_misses));
	fprintf(f, "  page walks         %14" PRIu64 "  %6.2f references per walk\n", s->walks,
		s->walks ? (double)s->walk_refs / (double)s->walks : 0.0);
	fprintf(f, "  page faults        %14" PRIu64 "\n", s->page_faults);
	fprintf(f, "  cycles             %14" PRIu64 "  %6.2f per access\n", cyc,
		stats_cycles_per_access(s));
	for (unsigned i = 0; i < stats_count(); i++)
		if (!strncmp(names[i], "cycles_", 7) && stats_value(s, i))
			fprintf(f, "    %-16s %14" PRIu64 "  %6.2f%%  %s\n", names[i],
				stats_value(s, i), pct(stats_value(s, i), cyc), descs[i]);
	fprintf(f, "\nall non-zero counters:\n");
	for (unsigned i = 0; i < stats_count(); i++)
		if (stats_value(s, i) && strncmp(names[i], "cycles_", 7))
			fprintf(f, "  %-22s %14" PRIu64 "  %s\n", names[i], stats_value(s, i), descs[i]);
}

int stats_print_json(const struct stats *s, const struct stats_ident *id, FILE *f)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return -1;
	cJSON_AddStringToObject(o, "mode", id->mode);
	cJSON_AddStringToObject(o, "workload", id->workload);
	cJSON_AddStringToObject(o, "config", id->config);
	for (unsigned i = 0; i < stats_count(); i++)
		cJSON_AddNumberToObject(o, names[i], (double)stats_value(s, i));
	cJSON_AddNumberToObject(o, "cycles", (double)stats_cycles(s));
	cJSON_AddNumberToObject(o, "cycles_per_access", stats_cycles_per_access(s));
	char *txt = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!txt)
		return -1;
	fprintf(f, "%s\n", txt);
	free(txt);
	return 0;
}

void stats_print_csv_header(FILE *f)
{
	fputs("mode,workload,config", f);
	for (unsigned i = 0; i < stats_count(); i++)
		fprintf(f, ",%s", names[i]);
	fputs(",cycles,cycles_per_access\n", f);
}

void stats_csv_field(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

void stats_print_csv_row(const struct stats *s, const struct stats_ident *id, FILE *f)
{
	stats_csv_field(f, id->mode);
	fputc(',', f);
	stats_csv_field(f, id->workload);
	fputc(',', f);
	stats_csv_field(f, id->config);
	for (unsigned i = 0; i < stats_count(); i++)
		fprintf(f, ",%" PRIu64, stats_value(s, i));
	fprintf(f, ",%" PRIu64 ",%.4f\n", stats_cycles(s), stats_cycles_per_access(s));
	(void)units;
}
