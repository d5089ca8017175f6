// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "inspect.h"
#include "pin.h"
#include "state.h"

int inspect_reachable(void)
{
	char dir[PATH_MAX];

	if (relay_state_dir("front", false, dir, sizeof(dir)) == 0)
		return 0;
	fprintf(stderr, "relaybpf: cannot reach the host's bpffs (/sys/fs/bpf), where relaybpf "
			"keeps its state: under ip netns exec, run relaybpf with "
			"nsenter --net=/run/netns/NAME instead; otherwise nothing was attached\n");
	return -ENOENT;
}

bool inspect_dir(const char *role, char *dir, size_t len)
{
	return relay_state_exists(role) && relay_state_dir(role, false, dir, len) == 0;
}

int inspect_front_cfg(const char *dir, struct relay_front_config *cfg)
{
	return pin_front_cfg_read(dir, cfg);
}

void inspect_default_backends(const char *dir, union relay_ip addr[2], bool has[2])
{
	int fd = pin_open(dir, "relay_backends");

	memset(addr, 0, 2 * sizeof(*addr));
	has[0] = has[1] = false;
	if (fd < 0)
		return;
	for (__u32 id = 1; id < RELAY_MAX_BACKENDS; id++) {
		struct relay_backend b;
		int f;

		if (bpf_map_lookup_elem(fd, &id, &b) || !b.family || b.service)
			continue;
		f = RELAY_FAMILY_IDX(b.family);
		if (!has[f]) {
			addr[f] = b.addr;
			has[f] = true;
		}
	}
	close(fd);
}

/*
 * Counted in batches, bucket by bucket: get_next_key starts again from the
 * first key whenever the key it is given has been evicted meanwhile, so
 * under a flood of new flows it counted entries again and again (a fill
 * above the table's size).
 */
int inspect_ct_fill(const char *dir, __u32 *count, __u32 *max, __u32 *per_backend)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	struct bpf_map_info info = { 0 };
	struct relay_ct_key keys[64];
	/* Room for the largest value a flow table had (a front attached by an
	 * earlier build: read converted, ct_value_of). */
	struct relay_ct_value_v1 vals[64];
	__u32 info_len = sizeof(info), batch, n;
	int fd = pin_open(dir, "relay_ct"), err = 0;
	void *from = NULL;

	*count = *max = 0;
	if (fd < 0)
		return fd;
	if (bpf_obj_get_info_by_fd(fd, &info, &info_len) || info.key_size != sizeof(keys[0]) ||
	    info.value_size > sizeof(vals[0])) {
		close(fd);
		return -EINVAL;
	}
	*max = info.max_entries;
	while (!err) {
		n = 64;
		err = bpf_map_lookup_batch(fd, from, &batch, keys, vals, &n, &opts) ? -errno : 0;
		if (err && err != -ENOENT)
			break;
		*count += n;
		for (__u32 i = 0; per_backend && i < n; i++) {
			struct relay_ct_value v;

			if (!ct_value_of((__u8 *)vals + (size_t)i * info.value_size, info.value_size,
					 &v) && v.backend_id < RELAY_MAX_BACKENDS)
				per_backend[v.backend_id]++;
		}
		from = &batch;
	}
	close(fd);
	return err == -ENOENT ? 0 : err;
}

__u32 inspect_prog_id(int fd)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

void inspect_prog_name(__u32 id, char *name, size_t len)
{
	struct bpf_prog_info info = { 0 };
	__u32 info_len = sizeof(info);
	int fd = id ? bpf_prog_get_fd_by_id(id) : -1;

	name[0] = '\0';
	if (fd < 0)
		return;
	if (!bpf_obj_get_info_by_fd(fd, &info, &info_len))
		snprintf(name, len, "%s", info.name);
	close(fd);
}

__u64 inspect_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}
