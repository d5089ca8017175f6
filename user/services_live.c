// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A change of backend state while the front runs (relaybpf backend drain,
 * the daemon's health checks): the generation in use planned again with
 * the new holds (svc_replan, svc_rows) and committed as an attach commits,
 * the configuration's svc_gen flipped in one map update, under the state
 * directory's lock (docs/services.md, "Backend state").
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "pin.h"
#include "services.h"
#include "state.h"

void svc_live_close(struct svc_live *l)
{
	if (!l)
		return;
	fds_close(l->fds, SVC_MAPS);
	if (l->cfg_fd >= 0)
		close(l->cfg_fd);
	if (l->lock_fd >= 0)
		close(l->lock_fd);
	free(l);
}

/* The generation in use of services and ports, from both in the maps. */
static int read_gen(const struct svc_live *l, struct relay_service *services,
		    struct relay_port_services *ports)
{
	struct relay_service *svc = calloc((size_t)2 * RELAY_SERVICE_SLOTS, sizeof(*svc));
	struct relay_port_services *pp = calloc((size_t)2 * RELAY_SVC_PROTOS, sizeof(*pp));
	int err = svc && pp ? 0 : -ENOMEM;

	if (!err)
		err = svc_map_read(l->fds[SVC_SERVICES], 2 * RELAY_SERVICE_SLOTS, svc);
	if (!err)
		err = svc_map_read(l->fds[SVC_PORTS], 2 * RELAY_SVC_PROTOS, pp);
	if (!err) {
		memcpy(services, &svc[RELAY_SERVICE_KEY(l->st.gen, 0)],
		       RELAY_SERVICE_SLOTS * sizeof(*svc));
		memcpy(ports, &pp[RELAY_PORTS_KEY(l->st.gen, 0)], RELAY_SVC_PROTOS * sizeof(*pp));
	}
	free(svc);
	free(pp);
	return err;
}

int svc_live_open(const char *dir, struct svc_live **out)
{
	static const char *const names[SVC_MAPS] = { SVC_MAP_NAMES };
	struct relay_service *services = calloc(RELAY_SERVICE_SLOTS, sizeof(*services));
	struct relay_port_services *ports = calloc(RELAY_SVC_PROTOS, sizeof(*ports));
	struct svc_live *l = calloc(1, sizeof(*l));
	__u32 zero = 0;
	int err = l && services && ports ? 0 : -ENOMEM;

	*out = NULL;
	if (l) {
		l->cfg_fd = l->lock_fd = -1;
		for (int i = 0; i < SVC_MAPS; i++)
			l->fds[i] = -1;
	}
	if (!err && (l->lock_fd = relay_state_lock(dir)) < 0)
		err = l->lock_fd;
	if (!err && (l->cfg_fd = pin_open(dir, "relay_front_cfg")) < 0)
		err = l->cfg_fd;
	/* On failure it closed what it opened: nothing for close to close. */
	if (!err && (err = pin_open_all(dir, names, l->fds, SVC_MAPS)))
		for (int i = 0; i < SVC_MAPS; i++)
			l->fds[i] = -1;
	if (!err && bpf_map_lookup_elem(l->cfg_fd, &zero, &l->cfg))
		err = -errno;
	if (!err)
		err = svc_state_read(l->fds, l->cfg.svc_gen, &l->st);
	if (!err)
		err = read_gen(l, services, ports);
	if (!err)
		svc_replan(&l->st, services, ports, &l->p);
	free(services);
	free(ports);
	if (err) {
		svc_live_close(l);
		return err;
	}
	*out = l;
	return 0;
}

int svc_live_commit(struct svc_live *l)
{
	__u32 zero = 0;
	bool changed = false;
	int err;

	for (int id = 1; id < RELAY_MAX_BACKENDS; id++)
		changed |= l->p.backends[id].hold != l->st.backends[id].hold;
	if (!changed)
		return 0;
	svc_rows(&l->p);
	l->cfg.svc_gen = l->p.gen;
	l->cfg.svc_epoch = svc_epoch_next(l->cfg.svc_epoch);
	err = svc_apply(l->fds, &l->st, &l->p);
	if (!err && bpf_map_update_elem(l->cfg_fd, &zero, &l->cfg, BPF_ANY))
		err = -errno;
	if (err) {
		svc_rollback(l->fds, &l->st, &l->p);
		return err;
	}
	return svc_release(l->fds, &l->st, &l->p);
}
