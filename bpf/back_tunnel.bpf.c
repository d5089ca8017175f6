// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Back, TC ingress on the tunnel device: mark what arrived through the
 * tunnel, before routing, so that fwmark policy routing (and the sysctls
 * that make replies inherit the mark) send the replies back into it.
 * Only the bits of the configured mask are touched.
 */
#include "lib/common.h"
#include "lib/counters.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct relay_back_config);
} relay_back_cfg SEC(".maps");

SEC("tc")
int relay_back_in(struct __sk_buff *skb)
{
	__u32 zero = 0;
	struct relay_back_config *cfg = bpf_map_lookup_elem(&relay_back_cfg, &zero);

	if (!cfg || !cfg->mask)
		return TC_ACT_OK;
	skb->mark = (skb->mark & ~cfg->mask) | (cfg->mark & cfg->mask);
	relay_count(RELAY_C_BACK_MARKED, 1);
	return TC_ACT_OK;
}
