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

/* The export reads route × stop × hour × fare once and sums the fares
 * away: each coarser group is the sum of its finer ones, in key order,
 * and the total is kept. */
Test(ridership, rollup_sums_a_prefix_of_the_dimensions)
{
	struct kp_rs_group g[] = {
		{ .k = { 1, 10, 7, 1 }, .v = { 3, 1, 300 } },
		{ .k = { 1, 10, 7, 2 }, .v = { 4, 0, 400 } },
		{ .k = { 1, 10, 8, 1 }, .v = { 5, 2, 500 } },
		{ .k = { 2, 10, 7, 1 }, .v = { 6, 0, 600 } },
		{ .k = { 2, 10, 7, 3 }, .v = { 7, 1, 700 } },
	};
	struct kp_rs_result fine = {
		.q = { .kind = KP_RS_TAPS, .by = { KP_RS_ROUTE, KP_RS_STOP, KP_RS_HOUR, KP_RS_FARE }, .nby = 4 },
		.g = g, .n = 5, .total = { .v = { 25, 4, 2500 } },
	};
	struct kp_rs_result out;

	cr_assert_eq(kp_rs_rollup(&fine, 3, &out), ST_OK);
	cr_assert_eq(out.n, 3);
	cr_expect_eq(out.q.nby, 3);
	cr_expect_eq(out.g[0].k[0], 1);
	cr_expect_eq(out.g[0].k[2], 7);
	cr_expect_eq(out.g[0].k[3], 0, "the dropped dimension is 0");
	cr_expect_eq(out.g[0].v[0], 7);
	cr_expect_eq(out.g[0].v[2], 700);
	cr_expect_eq(out.g[1].k[2], 8);
	cr_expect_eq(out.g[1].v[0], 5);
	cr_expect_eq(out.g[2].k[0], 2);
	cr_expect_eq(out.g[2].v[0], 13);
	cr_expect_eq(out.g[2].v[1], 1);
	cr_expect_eq(out.total.v[0], 25);
	kp_rs_free(&out);
	cr_assert_eq(kp_rs_rollup(&fine, 1, &out), ST_OK);
	cr_assert_eq(out.n, 2);
	cr_expect_eq(out.g[0].v[0], 12);
	cr_expect_eq(out.g[1].v[0], 13);
	kp_rs_free(&out);
}
