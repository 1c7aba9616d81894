/*
 * Description: the awake topic (ingest/paho_awake.h) is komposter/local/awake/
 * and the client id, and a client id that would make it no topic name, or
 * another client's, or too long, names none.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "ingest/paho_awake.h"

Test(paho_awake, names_the_clients_own_topic)
{
	char t[KP_PAHO_AWAKE_TOPIC_MAX];

	cr_assert_eq(kp_paho_awake_topic(t, "komposterd-2-of-3"), 0);
	cr_assert_str_eq(t, "komposter/local/awake/komposterd-2-of-3");
}

Test(paho_awake, refuses_ids_that_make_no_single_topic)
{
	char t[KP_PAHO_AWAKE_TOPIC_MAX];
	char long_id[KP_PAHO_AWAKE_TOPIC_MAX];

	memset(long_id, 'k', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	const char *bad[] = { "", "a+b", "a#", "a/b", long_id };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(kp_paho_awake_topic(t, bad[i]), -1, "id %zu", i);
	cr_expect_eq(kp_paho_awake_topic(t, NULL), -1);
}
