/* frigate_fixtures.c — reads tests/data/frigate-events.jsonl line by line;
 * checks label names. */
#include "frigate_fixtures.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIXTURE_FILE KP_SOURCE_DIR "/tests/data/frigate-events.jsonl"

void frigate_fixture_each(void (*fn)(const char *name, const char *payload, size_t len, void *arg), void *arg)
{
	FILE *f = fopen(FIXTURE_FILE, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	cr_assert_not_null(f, "cannot open %s", FIXTURE_FILE);
	while ((n = getline(&line, &cap, f)) > 0) {
		char *tab;
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		tab = strchr(line, '\t');
		cr_assert_not_null(tab, "%s: a line without a TAB: %.40s", FIXTURE_FILE, line);
		*tab = '\0';
		fn(line, tab + 1, (size_t)(line + n - (tab + 1)), arg);
	}
	cr_assert(!ferror(f), "reading %s failed", FIXTURE_FILE);
	free(line);
	fclose(f);
}

struct wanted {
	const char *name;
	char *copy;
	size_t len;
};

static void keep_if_named(const char *name, const char *payload, size_t len, void *arg)
{
	struct wanted *w = arg;

	if (strcmp(name, w->name) != 0)
		return;
	cr_assert_null(w->copy, "fixture %s appears twice", name);
	w->copy = malloc(len ? len : 1);
	cr_assert_not_null(w->copy);
	memcpy(w->copy, payload, len);
	w->len = len;
}

char *frigate_fixture(const char *name, size_t *len)
{
	struct wanted w = { .name = name };

	frigate_fixture_each(keep_if_named, &w);
	cr_assert_not_null(w.copy, "no fixture named %s", name);
	*len = w.len;
	return w.copy;
}

enum kp_frigate_err frigate_fixture_parse(const char *name, struct kp_frigate_event *ev)
{
	size_t len;
	char *p = frigate_fixture(name, &len);
	enum kp_frigate_err err = kp_frigate_event_parse(p, len, ev);

	free(p);
	return err;
}

void frigate_expect_label_names(const char *what, const char *const *names, size_t n)
{
	for (size_t a = 0; a < n; a++) {
		cr_assert_neq(strcmp(names[a], "unknown"), 0, "%s %zu has no name", what, a);
		cr_expect_gt(strlen(names[a]), 0, "%s %zu", what, a);
		cr_expect_eq(strspn(names[a], "abcdefghijklmnopqrstuvwxyz_"), strlen(names[a]), "%s %s", what, names[a]);
		for (size_t b = 0; b < a; b++)
			cr_expect_neq(strcmp(names[a], names[b]), 0, "%s %s twice", what, names[a]);
	}
}
