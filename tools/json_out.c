/*
 * json_out.c — exact integers and printing for the JSON `komposter` writes
 * (see json_out.h). Raw items are cJSON's way of putting text into the
 * output verbatim; a decimal integer is valid JSON, and any JSON parser that
 * keeps 64-bit integers (jq, Python, cJSON up to 2^53) reads it back.
 */
#include "tools/json_out.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "firmware-proto/hex.h"
#include "tools/cli.h"

#define DECIMAL_MAX 24 /* 20 digits of a uint64, a sign, a NUL */

int json_add_u64(cJSON *obj, const char *name, uint64_t v)
{
	char text[DECIMAL_MAX];

	snprintf(text, sizeof(text), "%" PRIu64, v);
	return cJSON_AddRawToObject(obj, name, text) == NULL ? -1 : 0;
}

int json_add_i64(cJSON *obj, const char *name, int64_t v)
{
	char text[DECIMAL_MAX];

	snprintf(text, sizeof(text), "%" PRId64, v);
	return cJSON_AddRawToObject(obj, name, text) == NULL ? -1 : 0;
}

int json_add_str(cJSON *obj, const char *name, const char *s)
{
	return cJSON_AddStringToObject(obj, name, s) == NULL ? -1 : 0;
}

int json_add_hex(cJSON *obj, const char *name, const uint8_t *bytes, size_t len)
{
	char *hex = malloc(2 * len + 1);
	int rc;

	if (hex == NULL)
		return -1;
	kp_hex_encode(bytes, len, hex);
	rc = json_add_str(obj, name, hex);
	free(hex);
	return rc;
}

int json_add_time_or_null(cJSON *obj, const char *name, int64_t ms)
{
	if (ms == 0)
		return cJSON_AddNullToObject(obj, name) == NULL ? -1 : 0;
	return json_add_i64(obj, name, ms);
}

int json_print(const cJSON *doc, int pretty)
{
	char *text = pretty ? cJSON_Print(doc) : cJSON_PrintUnformatted(doc);

	if (text == NULL)
		return -1;
	fputs(text, stdout);
	fputc('\n', stdout);
	cJSON_free(text);
	return 0;
}

int json_print_answer(cJSON *doc, const char *cmd)
{
	int rc = doc == NULL ? -1 : json_print(doc, 1);

	cJSON_Delete(doc);
	if (rc != 0)
		return cli_fail(cmd, "out of memory");
	return cli_finish_output(cmd);
}

int json_print_list(const void *items, size_t n, size_t size, cJSON *(*to_json)(const void *item),
                    const char *cmd)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; arr != NULL && i < n; i++) {
		cJSON *o = to_json((const char *)items + i * size);

		if (o == NULL || !cJSON_AddItemToArray(arr, o)) {
			cJSON_Delete(o);
			cJSON_Delete(arr);
			arr = NULL;
		}
	}
	return json_print_answer(arr, cmd);
}
