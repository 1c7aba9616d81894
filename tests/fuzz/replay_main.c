/*
 * Description: replays a fuzz corpus without libFuzzer. Linked with any fuzz
 * target, it calls LLVMFuzzerTestOneInput once per regular file in the
 * directory argv[1], so the sanitizer build runs every seed in CI. Exits 1
 * when the directory cannot be read or holds no file.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads a whole file into a heap block of exactly its size (so ASan sees
 * reads past the end). Returns 0 or -1. */
static int read_file(const char *path, uint8_t **data, size_t *size)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	int rc = -1;

	*data = NULL;
	if (f == NULL)
		return -1;
	if (fstat(fileno(f), &st) != 0 || st.st_size < 0)
		goto out;
	*size = (size_t)st.st_size;
	*data = malloc(*size ? *size : 1);
	if (*data == NULL || fread(*data, 1, *size, f) != *size)
		goto out;
	rc = 0;
out:
	fclose(f);
	if (rc != 0) {
		free(*data);
		*data = NULL;
	}
	return rc;
}

static int is_regular(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int main(int argc, char **argv)
{
	DIR *dir;
	struct dirent *e;
	size_t files = 0;
	int rc = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 1;
	}
	dir = opendir(argv[1]);
	if (dir == NULL) {
		perror(argv[1]);
		return 1;
	}
	while ((e = readdir(dir)) != NULL) {
		char path[4096];
		uint8_t *data;
		size_t size;

		if (snprintf(path, sizeof(path), "%s/%s", argv[1], e->d_name) >= (int)sizeof(path) ||
		    !is_regular(path))
			continue;
		if (read_file(path, &data, &size) != 0) {
			perror(path);
			rc = 1;
			break;
		}
		LLVMFuzzerTestOneInput(data, size);
		free(data);
		files++;
	}
	closedir(dir);
	if (rc == 0 && files == 0) {
		fprintf(stderr, "%s: no files to replay\n", argv[1]);
		rc = 1;
	}
	if (rc == 0)
		printf("replayed %zu files from %s\n", files, argv[1]);
	return rc;
}
