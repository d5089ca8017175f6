// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Maglev rows (user/maglev.c): shares follow the weights, a removed backend
 * moves about its own share of the slots, the order of the backends does
 * not matter, backups stand in only for missing primaries. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <string.h>

#include "maglev.h"

static struct relay_maglev_row row, row2;

/* 10.22.22.<i + 1>, id i + 1, weight 1. */
static void backends(struct maglev_backend *b, int n)
{
	memset(b, 0, n * sizeof(*b));
	for (int i = 0; i < n; i++) {
		b[i].addr.v4 = htonl(0x0a161601 + i);
		b[i].id = i + 1;
		b[i].weight = 1;
	}
}

/* Slots of each id (up to 64). */
static void shares(const struct relay_maglev_row *r, int *count)
{
	memset(count, 0, 64 * sizeof(*count));
	for (int i = 0; i < RELAY_MAGLEV_SIZE; i++) {
		cr_assert_lt(r->backend[i], 64);
		count[r->backend[i]]++;
	}
}

Test(maglev, shares_follow_the_weights)
{
	static const __u16 w[][4] = { { 1, 2, 3, 0 }, { 1, 1, 1, 1 }, { 256, 1, 10, 100 },
				      { 5, 0, 5, 0 } };
	struct maglev_backend b[4];
	int count[64];

	for (size_t t = 0; t < sizeof(w) / sizeof(w[0]); t++) {
		int sum = 0, n_w = 0;

		backends(b, 4);
		for (int i = 0; i < 4; i++) {
			b[i].weight = w[t][i];
			sum += w[t][i];
			n_w += w[t][i] != 0;
		}
		cr_assert_eq(maglev_build(b, 4, &row), n_w);
		shares(&row, count);
		cr_assert_eq(count[0], 0, "every slot has a backend");
		for (int i = 0; i < 4; i++) {
			double want = (double)RELAY_MAGLEV_SIZE * w[t][i] / sum;

			/* Within 1% of the table (about 41 slots) of its share:
			 * the credit scheme is off by one slot at most. */
			cr_assert_leq(count[i + 1], want + 2, "weights %u:%u:%u:%u, id %d: %d slots for %.1f",
				      w[t][0], w[t][1], w[t][2], w[t][3], i + 1, count[i + 1], want);
			cr_assert_geq(count[i + 1], want - 2, "weights %u:%u:%u:%u, id %d: %d slots for %.1f",
				      w[t][0], w[t][1], w[t][2], w[t][3], i + 1, count[i + 1], want);
		}
	}
}

/* 32 backends of the largest weight: every one gets its 1/32, which a
 * scheme giving each backend all its weight's slots at once would not. */
Test(maglev, the_most_backends_at_the_largest_weight)
{
	struct maglev_backend b[RELAY_MAX_SERVICE_BACKENDS];
	int count[64];

	backends(b, RELAY_MAX_SERVICE_BACKENDS);
	for (int i = 0; i < RELAY_MAX_SERVICE_BACKENDS; i++)
		b[i].weight = 256;
	cr_assert_eq(maglev_build(b, RELAY_MAX_SERVICE_BACKENDS, &row), RELAY_MAX_SERVICE_BACKENDS);
	shares(&row, count);
	for (int i = 1; i <= RELAY_MAX_SERVICE_BACKENDS; i++) {
		cr_assert_geq(count[i], RELAY_MAGLEV_SIZE / RELAY_MAX_SERVICE_BACKENDS, "id %d", i);
		cr_assert_leq(count[i], RELAY_MAGLEV_SIZE / RELAY_MAX_SERVICE_BACKENDS + 1, "id %d", i);
	}
}

/* Removing one of N: its slots go to the others, and the others keep
 * nearly all of theirs (Maglev's disruption is a little over 1/N). */
Test(maglev, removing_one_of_n_moves_about_one_nth)
{
	struct maglev_backend b[10];

	for (int n = 2; n <= 10; n += 4) {
		for (int gone = 0; gone < n; gone++) {
			int moved = 0, kept_moved = 0;

			backends(b, n);
			maglev_build(b, n, &row);
			backends(b, n);
			b[gone] = b[n - 1];
			maglev_build(b, n - 1, &row2);
			for (int i = 0; i < RELAY_MAGLEV_SIZE; i++) {
				cr_assert_neq(row2.backend[i], gone + 1);
				cr_assert_neq(row2.backend[i], 0);
				moved += row.backend[i] != row2.backend[i];
				kept_moved += row.backend[i] != gone + 1 &&
					      row.backend[i] != row2.backend[i];
			}
			/* The removed backend's own 1/N had to move... */
			cr_assert_geq(moved, RELAY_MAGLEV_SIZE / n - 1, "n %d gone %d", n, gone);
			/* ...and at most 3% of the table besides. */
			cr_assert_leq(kept_moved, RELAY_MAGLEV_SIZE * 3 / 100,
				      "n %d gone %d: %d slots of kept backends moved", n, gone,
				      kept_moved);
		}
	}
}

/* Adding a backend to N takes about 1/(N+1) of the slots, each from a
 * backend that stays otherwise. */
Test(maglev, adding_one_takes_about_its_share)
{
	struct maglev_backend b[9];
	int moved = 0;

	backends(b, 9);
	maglev_build(b, 8, &row);
	backends(b, 9);
	maglev_build(b, 9, &row2);
	for (int i = 0; i < RELAY_MAGLEV_SIZE; i++)
		moved += row.backend[i] != row2.backend[i];
	cr_assert_geq(moved, RELAY_MAGLEV_SIZE / 9 - 1);
	cr_assert_leq(moved, RELAY_MAGLEV_SIZE / 9 + RELAY_MAGLEV_SIZE * 3 / 100, "%d moved", moved);
}

Test(maglev, the_order_of_the_backends_does_not_matter)
{
	struct maglev_backend b[6], r[6];

	backends(b, 6);
	b[2].weight = 3;
	b[4].port = 8080;
	b[5].addr = b[4].addr; /* same address, another port: another backend */
	b[5].port = 8081;
	for (int i = 0; i < 6; i++)
		r[i] = b[5 - i];
	maglev_build(b, 6, &row);
	maglev_build(r, 6, &row2);
	cr_assert_arr_eq(row.backend, row2.backend, sizeof(row.backend));
	/* The walks come from the address and port, not the ids: a second
	 * front numbering the same backends otherwise maps the same slots. */
	for (int i = 0; i < 6; i++)
		r[i].id = b[i].id + 100;
	maglev_build(r, 6, &row2);
	for (int i = 0; i < RELAY_MAGLEV_SIZE; i++)
		cr_assert_eq(row2.backend[i], row.backend[i] + 100);
}

/* IPv6 addresses sort by their bytes and spread like IPv4's. */
Test(maglev, ipv6_backends)
{
	struct maglev_backend b[3];
	int count[64];

	backends(b, 3);
	for (int i = 0; i < 3; i++) {
		inet_pton(AF_INET6, "2001:db8:22::1", b[i].addr.v6);
		b[i].addr.v6[15] = 3 - i;
	}
	cr_assert_eq(maglev_build(b, 3, &row), 3);
	shares(&row, count);
	for (int i = 1; i <= 3; i++)
		cr_assert_geq(count[i], RELAY_MAGLEV_SIZE / 3 - 1);
	cr_assert_eq(b[0].addr.v6[15], 1, "sorted by address");
}

Test(maglev, backups_only_without_a_primary)
{
	struct maglev_backend b[4];
	int count[64];

	backends(b, 4);
	b[2].backup = b[3].backup = true;
	cr_assert_eq(maglev_build(b, 4, &row), 2);
	shares(&row, count);
	cr_assert_eq(count[3] + count[4], 0, "backups wait while primaries are up");
	cr_assert_eq(count[1] + count[2], RELAY_MAGLEV_SIZE);

	/* Both primaries drained (weight 0): the backups take the new flows. */
	backends(b, 4);
	b[2].backup = b[3].backup = true;
	b[0].weight = b[1].weight = 0;
	cr_assert_eq(maglev_build(b, 4, &row), 2);
	shares(&row, count);
	cr_assert_eq(count[1] + count[2], 0);
	cr_assert_geq(count[3], RELAY_MAGLEV_SIZE / 2 - 1);
	cr_assert_geq(count[4], RELAY_MAGLEV_SIZE / 2 - 1);
}

Test(maglev, nothing_to_relay_to)
{
	struct maglev_backend b[2];

	cr_assert_eq(maglev_build(b, 0, &row), 0);
	cr_assert_eq(row.backend[0] | row.backend[RELAY_MAGLEV_SIZE - 1], 0);
	backends(b, 2);
	b[0].weight = b[1].weight = 0;
	cr_assert_eq(maglev_build(b, 2, &row), 0, "all drained");
	for (int i = 0; i < RELAY_MAGLEV_SIZE; i++)
		cr_assert_eq(row.backend[i], 0);
	/* One backend has every slot. */
	backends(b, 1);
	cr_assert_eq(maglev_build(b, 1, &row), 1);
	for (int i = 0; i < RELAY_MAGLEV_SIZE; i++)
		cr_assert_eq(row.backend[i], 1);
}
