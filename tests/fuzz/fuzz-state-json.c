/* fuzz-state-json: the files goproxy-cert keeps under .state/ and reads back
 * on every run -- lineages/NAME.json (lineage_from_json) and ledger.json
 * (ledger_from_json) -- may be hand-edited, truncated by a full disk or
 * damaged. Parsing any bytes must never crash, and whatever parses must
 * serialise and parse again to the same text (round trip), and the offline
 * rate-limit guard must run on it.
 *
 * Input: first byte selects the parser (even: lineage, odd: ledger), the rest
 * is the file text. Built three times: fuzz-state-json (both), and with
 * FUZZ_ONLY_LINEAGE / FUZZ_ONLY_LEDGER (fuzz-lineage-json, fuzz-ledger-json)
 * so one known bug in one parser does not stop the fuzzing of the other. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ledger.h"
#include "lineage.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

__attribute__((unused)) static void fuzz_lineage(const char *text)
{
	struct gpc_error err;
	struct lineage *l = NULL, *l2 = NULL;
	char *j1 = NULL, *j2 = NULL, *joined;

	gpc_error_clear(&err);
	if (lineage_from_json("www", text, "fuzz.json", &l, &err) != 0) {
		/* A refusal must say why and name the file. */
		if (err.code == NULL || strstr(err.message, "fuzz.json") == NULL)
			abort();
		return;
	}
	if (l->n_names == 0)
		abort();
	joined = lineage_names_joined(l, ", ");
	free(joined);
	(void)lineage_same_names(l->names, l->n_names, l->names, l->n_names);
	j1 = lineage_to_json(l);
	if (j1 == NULL)
		abort();
	if (lineage_from_json("www", j1, "round-trip", &l2, &err) != 0)
		abort(); /* what we wrote we must read back */
	j2 = lineage_to_json(l2);
	if (j2 == NULL || strcmp(j1, j2) != 0)
		abort();
	free(j1);
	free(j2);
	lineage_free(l);
	lineage_free(l2);
}

__attribute__((unused)) static void fuzz_ledger(const char *text)
{
	static char *names[] = {"example.org", "www.example.org"};
	struct gpc_error err;
	struct ledger *lg = NULL, *lg2 = NULL;
	struct ledger_limits lim;
	char *j1 = NULL, *j2 = NULL;
	const time_t now = 1800000000;

	gpc_error_clear(&err);
	if (ledger_from_json(text, "ledger.json", &lg, &err) != 0) {
		if (err.code == NULL || strstr(err.message, "ledger.json") == NULL)
			abort();
		return;
	}
	ledger_limits_default(&lim);
	/* Every query must run on whatever parsed. */
	gpc_error_clear(&err);
	(void)ledger_check(lg, "https://ca.example/dir", names, 2, &lim, false, now, &err);
	(void)ledger_check(lg, "https://ca.example/dir", names, 1, &lim, true, now, &err);
	(void)ledger_retry_after(lg, "https://ca.example/dir", now);
	(void)ledger_backoff_until(lg, "www", now);
	(void)ledger_count_issuances(lg, NULL, names, 2, 0);
	if (ledger_record_issuance(lg, "https://ca.example/dir", names, 2, false, now) != 0 ||
	    ledger_record_failure(lg, "https://ca.example/dir", names, 2, names, 1, "x", now) != 0 ||
	    ledger_record_attempt(lg, "www", false, now) != 0 ||
	    ledger_set_retry_after(lg, "https://ca.example/dir", now + 60, "slow down") != 0)
		abort();
	(void)ledger_check(lg, "https://ca.example/dir", names, 2, &lim, false, now, &err);
	ledger_prune(lg, now);
	j1 = ledger_to_json(lg);
	if (j1 == NULL)
		abort();
	if (ledger_from_json(j1, "round-trip", &lg2, &err) != 0)
		abort();
	j2 = ledger_to_json(lg2);
	if (j2 == NULL || strcmp(j1, j2) != 0)
		abort();
	free(j1);
	free(j2);
	ledger_free(lg);
	ledger_free(lg2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (size < 1 || size > 256 * 1024)
		return 0;
	gpc_log_set_handler(NULL, NULL, GPC_LOG_ERROR);
	text = cstr(data + 1, size - 1);
#if defined(FUZZ_ONLY_LINEAGE)
	fuzz_lineage(text);
#elif defined(FUZZ_ONLY_LEDGER)
	fuzz_ledger(text);
#else
	if (data[0] & 1)
		fuzz_ledger(text);
	else
		fuzz_lineage(text);
#endif
	free(text);
	return 0;
}
