/*
 * json_out.h — building the JSON that `komposter` prints, with cJSON.
 *
 * cJSON keeps numbers as doubles, which are exact only up to 2^53; commit
 * sequences, batch sequences and sums are 64-bit, so integers are added as
 * raw decimal text and come out exact. Every adder returns 0, or -1 when
 * cJSON could not allocate (the object is then left for the caller to
 * delete as usual).
 */
#ifndef KP_JSON_OUT_H
#define KP_JSON_OUT_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

int json_add_u64(cJSON *obj, const char *name, uint64_t v);
int json_add_i64(cJSON *obj, const char *name, int64_t v);
int json_add_str(cJSON *obj, const char *name, const char *s);
int json_add_hex(cJSON *obj, const char *name, const uint8_t *bytes, size_t len);
/* A Unix-ms time, or null when ms is 0 ("never"). */
int json_add_time_or_null(cJSON *obj, const char *name, int64_t ms);

/* Prints doc and a newline on stdout: one line when pretty is 0, indented
 * otherwise. -1 when out of memory (stdout errors are left to ferror). */
int json_print(const cJSON *doc, int pretty);
/* A command's whole JSON answer: prints doc indented, deletes it, and
 * returns cmd's exit status (enum kp_exit): out of memory when doc is NULL
 * or printing fails, a write error on stdout (cli_finish_output). */
int json_print_answer(cJSON *doc, const char *cmd);
/* A list command's JSON answer: the array of to_json(item) for the n items
 * of size bytes at items, printed with json_print_answer. */
int json_print_list(const void *items, size_t n, size_t size, cJSON *(*to_json)(const void *item),
                    const char *cmd);

#endif
