/* libFuzzer target: the INI config parser (inih + our key table) on
 * arbitrary text. Must never crash; a success must leave values in range. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kp_config cfg;
	char err[KP_CONFIG_ERR_SIZE];
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	kp_config_default(&cfg);
	if (kp_config_parse_string(text, &cfg, err) == 0) {
		if (cfg.service_day_start_hour < 0 || cfg.service_day_start_hour > 23 ||
		    cfg.group_max_frames < 1 || cfg.map_size_max_mb < cfg.map_size_mb ||
		    memchr(cfg.storage_path, '\0', sizeof(cfg.storage_path)) == NULL)
			abort();
	}
	free(text);
	return 0;
}
