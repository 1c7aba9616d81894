/*
 * paho_awake.c — the awake topic's name (paho_awake.h).
 */
#include "ingest/paho_awake.h"

#include <stdio.h>
#include <string.h>

int kp_paho_awake_topic(char out[KP_PAHO_AWAKE_TOPIC_MAX], const char *client_id)
{
	if (!client_id || !client_id[0] || strpbrk(client_id, "+#/"))
		return -1;
	int n = snprintf(out, KP_PAHO_AWAKE_TOPIC_MAX, "%s%s", KP_PAHO_AWAKE_PREFIX, client_id);
	return n > 0 && n < KP_PAHO_AWAKE_TOPIC_MAX ? 0 : -1;
}
