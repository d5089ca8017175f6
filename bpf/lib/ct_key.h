/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The flow key both roles use (struct relay_ct_key), with no map attached. */
#ifndef RELAY_LIB_CT_KEY_H
#define RELAY_LIB_CT_KEY_H

#include "common.h"

/* Key of a flow from the client's side: (client, client port, service port). */
static __always_inline void relay_ct_key_ip(struct relay_ct_key *key, __u8 family, __u8 proto,
					    const union relay_ip *client, __be16 client_port,
					    __be16 service_port)
{
	__builtin_memset(key, 0, sizeof(*key));
	key->family = family;
	key->proto = proto;
	if (family == AF_INET6)
		key->client = *client;
	else
		key->client.v4 = client->v4;
	key->client_port = client_port;
	key->service_port = service_port;
}

static __always_inline void relay_ct_key_v4(struct relay_ct_key *key, __u8 proto,
					    __be32 client, __be16 client_port,
					    __be16 service_port)
{
	union relay_ip c = { .v4 = client };

	relay_ct_key_ip(key, AF_INET, proto, &c, client_port, service_port);
}

#endif
