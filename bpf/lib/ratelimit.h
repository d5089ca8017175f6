/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * --rate-limit: a token bucket per client source address, for packets the
 * front would relay (the recipe's own advice against floods: limit per
 * source before the flow table and the backend pay for it). Shared by
 * relay_front_in and relay_front_xdp through one map, so a source has one
 * budget whichever path its packets take.
 */
#ifndef RELAY_LIB_RATELIMIT_H
#define RELAY_LIB_RATELIMIT_H

#include "common.h"
#include "counters.h"
#include "parse.h"

/*
 * The bucket as its "theoretical arrival time" (GCRA): the time at which
 * it is full again. Admitting a packet costs one interval (1 s / rate); a
 * packet is admitted while the bucket is less than `burst` intervals
 * ahead of now. Equivalent to a token bucket of `burst` tokens refilled at
 * `rate` per second, in one word and without a division per refill.
 */
struct relay_rl_bucket {
	__u64 tat_ns;
};

/* A flood from random sources evicts the oldest buckets, never the
 * flows: its own map, LRU. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, RELAY_RL_SOURCES);
	__type(key, struct relay_ip_key);
	__type(value, struct relay_rl_bucket);
} relay_ratelimit SEC(".maps");

/* 1 if the bucket admits a packet at now (and charges it), else 0. */
static __always_inline int relay_rl_admit(struct relay_rl_bucket *b, __u64 now, __u32 rate,
					  __u32 burst)
{
	__u64 interval = 1000000000ULL / rate;
	__u64 tat = b->tat_ns > now ? b->tat_ns : now;

	if (tat + interval > now + (__u64)burst * interval)
		return 0;
	/* Two CPUs may race here and admit a packet or two more: a limit
	 * against floods, not an exact meter. */
	b->tat_ns = tat + interval;
	return 1;
}

/* 1 if the bucket of key in map (an LRU of struct relay_rl_bucket) admits
 * a packet at now, and charges it; a source seen for the first time gets a
 * full bucket. */
static __always_inline int relay_rl_charge(void *map, const struct relay_ip_key *key, __u64 now,
					   __u32 rate, __u32 burst)
{
	struct relay_rl_bucket *b, fresh = {};

	b = bpf_map_lookup_elem(map, key);
	if (!b) {
		relay_rl_admit(&fresh, now, rate, burst);
		bpf_map_update_elem(map, key, &fresh, BPF_ANY);
		return 1;
	}
	return relay_rl_admit(b, now, rate, burst);
}

/* 1 if pkt's source is over --rate-limit (counted: the caller drops it);
 * 0 when it may go on, or when no limit is set. The precise clock, read
 * only when a limit is set: at a high rate a packet's interval is shorter
 * than relay_now()'s tick. */
static __always_inline int relay_rate_limited(const struct relay_front_config *cfg,
					      const struct relay_pkt *pkt)
{
	struct relay_ip_key key = {};

	if (!cfg->rate_pps)
		return 0;
	/* IPv4 addresses in relay_pkt are zero past the first word. */
	key.family = pkt->family;
	key.addr = pkt->saddr;
	if (relay_rl_charge(&relay_ratelimit, &key, bpf_ktime_get_ns(), cfg->rate_pps,
			    cfg->rate_burst))
		return 0;
	relay_count(RELAY_C_DROP_RATE_LIMIT, 1);
	return 1;
}

#endif
