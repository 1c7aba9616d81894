/*
 * Description: the by list of a ridership query: names in the order given,
 * each once, at most four (so five names, which would need both fare and
 * door, are refused instead of overflowing), the name at fault pointed at;
 * fare fits taps only and door counts only; the JSON keys of dimensions.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "report/ridership.h"

Test(ridership, by_keeps_the_order_given)
{
	struct kp_rs_query q = { 0 };
	const char *bad;
	size_t len;

	cr_assert_eq(kp_rs_parse_by("hour,route,fare", &q, &bad, &len), KP_RS_BY_OK);
	cr_assert_eq(q.nby, 3);
	cr_expect_eq(q.by[0], KP_RS_HOUR);
	cr_expect_eq(q.by[1], KP_RS_ROUTE);
	cr_expect_eq(q.by[2], KP_RS_FARE);
	cr_expect_eq(kp_rs_check(&q), KP_RS_BY_OK);
	q.kind = KP_RS_COUNTS;
	cr_expect_eq(kp_rs_check(&q), KP_RS_BY_FARE_COUNTS);
}

Test(ridership, bad_lists_point_at_the_name_at_fault)
{
	struct kp_rs_query q = { 0 };
	const char *list = "route,colour,stop", *bad;
	size_t len;

	cr_assert_eq(kp_rs_parse_by(list, &q, &bad, &len), KP_RS_BY_UNKNOWN);
	cr_expect_eq(bad, list + 6);
	cr_expect_eq(len, 6);
	cr_expect_eq(kp_rs_parse_by("stop,stop", &q, &bad, &len), KP_RS_BY_TWICE);
	cr_expect_eq(kp_rs_parse_by("", &q, &bad, &len), KP_RS_BY_UNKNOWN);
	cr_expect_eq(kp_rs_parse_by("route,", &q, &bad, &len), KP_RS_BY_UNKNOWN);
	cr_expect_eq(kp_rs_parse_by("route,stop,hour,fare,door", &q, &bad, &len), KP_RS_BY_TOO_MANY);
	cr_expect_eq(q.nby, KP_RS_BY_MAX);
}

Test(ridership, door_is_for_counts_only)
{
	struct kp_rs_query q = { .kind = KP_RS_TAPS };
	const char *bad;
	size_t len;

	cr_assert_eq(kp_rs_parse_by("route,door", &q, &bad, &len), KP_RS_BY_OK);
	cr_expect_eq(kp_rs_check(&q), KP_RS_BY_DOOR_TAPS);
	q.kind = KP_RS_COUNTS;
	cr_expect_eq(kp_rs_check(&q), KP_RS_BY_OK);
	cr_expect_str_eq(kp_rs_dim_json_key(KP_RS_FARE), "fare_product");
	cr_expect_str_eq(kp_rs_dim_name(KP_RS_DOOR), "door");
}
