// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Marks and tables of several tunnels: given ones kept, defaults moved on
 * to the next free value, overlapping marks told apart by their masks. */
#include <errno.h>
#include <criterion/criterion.h>

#include "back.h"

static struct relay_back_tunnel tun(__u32 ifindex, __u32 mark, __u32 mask, __u32 table)
{
	return (struct relay_back_tunnel){ .ifindex = ifindex, .mark = mark, .mask = mask,
					   .table = table, .prev_src_valid_mark = -1 };
}

Test(back_alloc, first_tunnel_keeps_the_defaults)
{
	struct relay_back_tunnel t = tun(5, 0x1, 0xffffffff, 100);

	cr_assert_eq(back_allocate(&t, false, false, NULL, 0), 0);
	cr_assert_eq(t.mark, 0x1);
	cr_assert_eq(t.table, 100);
}

Test(back_alloc, second_tunnel_gets_the_next_free_mark_and_table)
{
	struct relay_back_tunnel tuns[] = { tun(5, 0x1, 0xffffffff, 100),
					    tun(6, 0x2, 0xffffffff, 101) };
	struct relay_back_tunnel t = tun(7, 0x1, 0xffffffff, 100);

	cr_assert_eq(back_allocate(&t, false, false, tuns, 2), 0);
	cr_assert_eq(t.mark, 0x3);
	cr_assert_eq(t.table, 102);
}

Test(back_alloc, masked_mark_steps_by_the_mask_lowest_bit)
{
	struct relay_back_tunnel tuns[] = { tun(5, 0x10, 0xf0, 100) };
	struct relay_back_tunnel t = tun(6, 0x10, 0xf0, 100);

	cr_assert_eq(back_allocate(&t, false, false, tuns, 1), 0);
	cr_assert_eq(t.mark, 0x20);
	cr_assert_eq(t.mask, 0xf0);
	cr_assert_eq(t.table, 101);
}

Test(back_alloc, masked_mark_wraps_past_zero)
{
	struct relay_back_tunnel tuns[] = { tun(5, 0xf0, 0xf0, 100) };
	struct relay_back_tunnel t = tun(6, 0xf0, 0xf0, 101);

	cr_assert_eq(back_allocate(&t, false, false, tuns, 1), 0);
	cr_assert_eq(t.mark, 0x10, "0 is never a mark");
}

Test(back_alloc, same_mask_other_value_does_not_conflict)
{
	struct relay_back_tunnel tuns[] = { tun(5, 0x1, 0xf, 100) };
	struct relay_back_tunnel t = tun(6, 0x2, 0xf, 101);

	cr_assert_eq(back_allocate(&t, true, true, tuns, 1), 0);
	cr_assert_eq(t.mark, 0x2);
}

Test(back_alloc, disjoint_masks_conflict)
{
	/* A packet marked 0x101 would match both rules. */
	struct relay_back_tunnel tuns[] = { tun(5, 0x1, 0xf, 100) };
	struct relay_back_tunnel t = tun(6, 0x100, 0xf00, 101);

	cr_assert_eq(back_allocate(&t, true, true, tuns, 1), -EEXIST);
}

Test(back_alloc, given_mark_in_use_is_an_error)
{
	struct relay_back_tunnel tuns[] = { tun(5, 0x1, 0xffffffff, 100) };
	struct relay_back_tunnel t = tun(6, 0x1, 0xffffffff, 101);

	cr_assert_eq(back_allocate(&t, true, false, tuns, 1), -EEXIST);
}

Test(back_alloc, given_table_in_use_is_an_error)
{
	struct relay_back_tunnel tuns[] = { tun(5, 0x1, 0xffffffff, 100) };
	struct relay_back_tunnel t = tun(6, 0x2, 0xffffffff, 100);

	cr_assert_eq(back_allocate(&t, false, true, tuns, 1), -EEXIST);
}

Test(back_alloc, tables_skip_the_reserved_ids)
{
	struct relay_back_tunnel tuns[] = { tun(5, 0x1, 0xffffffff, 252) };
	struct relay_back_tunnel t = tun(6, 0x2, 0xffffffff, 252);

	cr_assert_eq(back_allocate(&t, false, false, tuns, 1), 0);
	cr_assert_eq(t.table, 256);
}

Test(back_alloc, a_rerun_does_not_conflict_with_itself)
{
	struct relay_back_tunnel tuns[] = { tun(5, 0x1, 0xffffffff, 100) };
	struct relay_back_tunnel t = tun(5, 0x1, 0xffffffff, 100);

	cr_assert_eq(back_allocate(&t, true, true, tuns, 1), 0);
	cr_assert_eq(t.mark, 0x1);
	cr_assert_eq(t.table, 100);
}
