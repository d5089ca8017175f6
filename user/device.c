// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <net/if.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "device.h"

int device_index(const char *name, const char *what)
{
	int idx = name ? (int)if_nametoindex(name) : 0;

	if (!idx)
		fprintf(stderr, "relaybpf: %s: no such device '%s'\n", what, name ? name : "");
	return idx;
}

static int device_ioctl(const char *name, unsigned long req, struct ifreq *ifr)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int err;

	if (fd < 0)
		return -1;
	memset(ifr, 0, sizeof(*ifr));
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", name);
	err = ioctl(fd, req, ifr);
	close(fd);
	return err;
}

bool device_is_l2(const char *name)
{
	struct ifreq ifr;

	return device_ioctl(name, SIOCGIFHWADDR, &ifr) == 0 &&
	       ifr.ifr_hwaddr.sa_family == ARPHRD_ETHER;
}

bool device_is_up(const char *name)
{
	struct ifreq ifr;

	return device_ioctl(name, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP);
}

int device_mtu(const char *name)
{
	struct ifreq ifr;

	return device_ioctl(name, SIOCGIFMTU, &ifr) == 0 ? ifr.ifr_mtu : -1;
}
