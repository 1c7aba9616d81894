/*
 * publish_index.h — what a publish folder holds (publish_stage.h), read
 * back from disk: every package DATE/vN with its manifest's "created", its
 * SHA-256 and the previous manifest's SHA-256 it names; and the index of
 * them that /open/ serves (index.json, index.html).
 *
 * Only names of the published forms are read (opendata/package.h
 * od_package_date_name, od_package_version_name: DATE is 8 digits, vN is
 * "v" and digits without a leading zero), and a package is a folder
 * holding datapackage.json. Anything else in the folder (the temporary
 * folders of a build under way, the index files) is skipped.
 */
#ifndef KP_PUBLISH_INDEX_H
#define KP_PUBLISH_INDEX_H

#include <stddef.h>
#include <stdint.h>

#define KP_PUBLISH_ERR_SIZE 256
#define KP_SHA256_HEX_SIZE 65

struct kp_published {
	uint32_t date;    /* yyyymmdd */
	uint32_t version; /* N of vN, from 1 */
	char created[32]; /* the manifest's "created" */
	char sha256[KP_SHA256_HEX_SIZE];   /* of datapackage.json */
	char previous[KP_SHA256_HEX_SIZE]; /* the manifest's previous_manifest_sha256; "" when null */
};

struct kp_published_list {
	struct kp_published *v; /* malloc'd; by date, then version */
	size_t n, cap;
};

/* Reads dir. 0, or -1 with one line in err. Call kp_published_free after,
 * whatever the result. */
int kp_published_scan(const char *dir, struct kp_published_list *out, char err[KP_PUBLISH_ERR_SIZE]);
void kp_published_free(struct kp_published_list *l);
/* Reads the package dir/DATE/vN and appends it to l (kept in order when
 * it comes after every package l holds). 0, or -1 with one line in err. */
int kp_published_add(const char *dir, uint32_t date, uint32_t version, struct kp_published_list *l,
                     char err[KP_PUBLISH_ERR_SIZE]);

/* The bytes of dir/DATE/vN/datapackage.json in *buf (malloc'd, *len
 * bytes, NUL after them). 0, or -1 with one line in err. */
int kp_published_read_manifest(const char *dir, uint32_t date, uint32_t version, char **buf, size_t *len,
                               char err[KP_PUBLISH_ERR_SIZE]);

/* The highest version of date, 0 when none. */
uint32_t kp_published_last_version(const struct kp_published_list *l, uint32_t date);
/* The chain's tip: the package whose manifest no other package names as
 * previous (the latest created, then the last in order, should there be
 * more than one); NULL when the list is empty. */
const struct kp_published *kp_published_tip(const struct kp_published_list *l);

/* Writes dir/index.json and dir/index.html from l, each through a
 * temporary file renamed over the old one. 0, or -1 with one line in err. */
int kp_published_write_index(const char *dir, const struct kp_published_list *l, char err[KP_PUBLISH_ERR_SIZE]);

#endif
