// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <bpf/libbpf.h>

#include "relaybpf.h"
#include "tc.h"

#define RELAY_TC_HOOK(name, idx, point)                                          \
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, name, .ifindex = (idx), .attach_point = (point))

static int tc_attach(int ifindex, enum bpf_tc_attach_point point, int prog_fd)
{
	RELAY_TC_HOOK(hook, ifindex, point);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = RELAY_TC_HANDLE,
			    .priority = RELAY_TC_PRIORITY, .prog_fd = prog_fd,
			    .flags = BPF_TC_F_REPLACE);
	int err;

	/* The clsact qdisc may be there already, with other tools' filters. */
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return err;
	return bpf_tc_attach(&hook, &opts);
}

static int tc_detach(int ifindex, enum bpf_tc_attach_point point)
{
	RELAY_TC_HOOK(hook, ifindex, point);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = RELAY_TC_HANDLE,
			    .priority = RELAY_TC_PRIORITY);
	int err = bpf_tc_detach(&hook, &opts);

	return err == -ENOENT || err == -ENODEV || err == -EINVAL ? 0 : err;
}

int tc_attach_ingress(int ifindex, int prog_fd)
{
	return tc_attach(ifindex, BPF_TC_INGRESS, prog_fd);
}

int tc_detach_ingress(int ifindex)
{
	return tc_detach(ifindex, BPF_TC_INGRESS);
}

int tc_attach_egress(int ifindex, int prog_fd)
{
	return tc_attach(ifindex, BPF_TC_EGRESS, prog_fd);
}

int tc_detach_egress(int ifindex)
{
	return tc_detach(ifindex, BPF_TC_EGRESS);
}

static __u32 tc_prog_id(int ifindex, enum bpf_tc_attach_point point)
{
	RELAY_TC_HOOK(hook, ifindex, point);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = RELAY_TC_HANDLE,
			    .priority = RELAY_TC_PRIORITY);

	return bpf_tc_query(&hook, &opts) ? 0 : opts.prog_id;
}

__u32 tc_ingress_prog_id(int ifindex)
{
	return tc_prog_id(ifindex, BPF_TC_INGRESS);
}

__u32 tc_egress_prog_id(int ifindex)
{
	return tc_prog_id(ifindex, BPF_TC_EGRESS);
}
