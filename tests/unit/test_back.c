// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The back's tunnel ingress program: the mark, within its mask. */
#include <bpf/bpf.h>
#include <criterion/criterion.h>

#include "back_tunnel.skel.h"
#include "packet.h"
#include "run.h"
#include "relaybpf.h"

static struct back_tunnel *skel;

static void setup(void)
{
	skel = back_tunnel__open_and_load();
	cr_assert_not_null(skel);
}

static void teardown(void)
{
	back_tunnel__destroy(skel);
}

static __u32 mark_after(__u32 mark, __u32 mask, __u32 skb_mark)
{
	struct relay_back_config cfg = { .mark = mark, .mask = mask };
	struct fix_ip4 ip = { .src = "203.0.113.10", .dst = "10.22.22.1", .proto = IPPROTO_TCP };
	struct fix_l4 l4 = { .sport = 40000, .dport = 8080, .tcp_flags = 0x02 };
	struct __sk_buff ctx = { .mark = skb_mark };
	struct fixture in, out;
	__u32 zero = 0;

	cr_assert_eq(bpf_map_update_elem(bpf_map__fd(skel->maps.relay_back_cfg), &zero, &cfg,
					 BPF_ANY), 0);
	fix_build(&in, true, &ip, &l4);
	cr_assert_eq(run_tc(bpf_program__fd(skel->progs.relay_back_in), &in, &out, &ctx),
		     TC_ACT_OK);
	cr_assert_arr_eq(in.buf, out.buf, in.len, "the packet itself is not changed");
	return ctx.mark;
}

TestSuite(back_in, .init = setup, .fini = teardown);

Test(back_in, sets_the_default_mark)
{
	cr_assert_eq(mark_after(0x1, 0xffffffff, 0), 0x1);
	cr_assert_eq(counter(bpf_map__fd(skel->maps.relay_stats), RELAY_C_BACK_MARKED), 1);
}

Test(back_in, touches_only_the_bits_of_the_mask)
{
	cr_assert_eq(mark_after(0x10, 0xf0, 0xabcd0f0f), 0xabcd0f1f);
}

Test(back_in, clears_mask_bits_not_in_the_mark)
{
	cr_assert_eq(mark_after(0x100, 0xf00, 0xe00), 0x100);
}

Test(back_in, unconfigured_program_leaves_the_mark_alone)
{
	struct fix_ip4 ip = { .src = "203.0.113.10", .dst = "10.22.22.1", .proto = IPPROTO_TCP };
	struct fix_l4 l4 = { .sport = 1, .dport = 2 };
	struct __sk_buff ctx = { .mark = 0x77 };
	struct fixture in, out;

	fix_build(&in, true, &ip, &l4);
	cr_assert_eq(run_tc(bpf_program__fd(skel->progs.relay_back_in), &in, &out, &ctx),
		     TC_ACT_OK);
	cr_assert_eq(ctx.mark, 0x77);
}
