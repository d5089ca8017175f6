// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>

#include "state.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

static bool is_bpffs(const char *path)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

static bool same_mount_ns_as_init(void)
{
	struct stat self, init;

	if (stat("/proc/self/ns/mnt", &self) || stat("/proc/1/ns/mnt", &init))
		return true;
	return self.st_ino == init.st_ino && self.st_dev == init.st_dev;
}

/*
 * The host's bpffs. `ip netns exec` gives its command a mount namespace
 * with a fresh /sys that has no bpffs: reach the host's through init's root
 * instead, so state outlives the command.
 */
static int bpffs_root(bool create, const char **root)
{
	if (is_bpffs("/sys/fs/bpf")) {
		*root = "/sys/fs/bpf";
		return 0;
	}
	if (!same_mount_ns_as_init() && is_bpffs("/proc/1/root/sys/fs/bpf")) {
		*root = "/proc/1/root/sys/fs/bpf";
		return 0;
	}
	if (!create)
		return -ENOENT;
	if (!same_mount_ns_as_init()) {
		fprintf(stderr, "relaybpf: no bpffs on the host: mount it first "
				"(mount -t bpf bpf /sys/fs/bpf), or run relaybpf with "
				"nsenter --net instead of ip netns exec\n");
		return -ENOENT;
	}
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
		int err = -errno;

		fprintf(stderr, "relaybpf: cannot mount bpffs on /sys/fs/bpf: %s\n", strerror(errno));
		return err;
	}
	*root = "/sys/fs/bpf";
	return 0;
}

static int netns_cookie(unsigned long long *cookie)
{
	socklen_t len = sizeof(*cookie);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int err = 0;

	if (fd < 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, cookie, &len))
		err = -errno;
	close(fd);
	return err;
}

void relay_path(char *out, const char *dir, const char *name)
{
	/* Names are map names (< 16 bytes) under a short directory. */
	if (snprintf(out, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX)
		out[0] = '\0';
}

static int mkdir_p(const char *path)
{
	return mkdir(path, 0700) && errno != EEXIST ? -errno : 0;
}

int relay_state_dir(const char *role, bool create, char *out, size_t len)
{
	unsigned long long cookie = 0;
	const char *root;
	char top[PATH_MAX], ns[PATH_MAX];
	int err;

	err = bpffs_root(create, &root);
	if (err)
		return err;
	err = netns_cookie(&cookie);
	if (err) {
		fprintf(stderr, "relaybpf: cannot read the network namespace cookie: %s\n",
			strerror(-err));
		return err;
	}
	if (snprintf(top, sizeof(top), "%s/relaybpf", root) >= (int)sizeof(top) ||
	    snprintf(ns, sizeof(ns), "%s/netns-%llu", top, cookie) >= (int)sizeof(ns) ||
	    snprintf(out, len, "%s/%s", ns, role) >= (int)len)
		return -ENAMETOOLONG;
	if (!create)
		return 0;
	if ((err = mkdir_p(top)) || (err = mkdir_p(ns)) || (err = mkdir_p(out))) {
		fprintf(stderr, "relaybpf: cannot create %s: %s\n", out, strerror(-err));
		return err;
	}
	return 0;
}

bool relay_state_exists(const char *role)
{
	char dir[PATH_MAX];
	struct stat st;

	return relay_state_dir(role, false, dir, sizeof(dir)) == 0 && stat(dir, &st) == 0;
}

static void rmdir_contents(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[PATH_MAX];

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		relay_path(path, dir, e->d_name);
		unlink(path);
	}
	closedir(d);
}

void relay_state_remove(const char *role)
{
	char dir[PATH_MAX];

	if (relay_state_dir(role, false, dir, sizeof(dir)))
		return;
	rmdir_contents(dir);
	/* The namespace's and relaybpf's directories go when they are empty. */
	relay_state_prune(dir);
}

void relay_state_prune(const char *dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s", dir);
	for (int i = 0; i < 3; i++) {
		char *slash;

		if (rmdir(path))
			return;
		slash = strrchr(path, '/');
		if (!slash)
			return;
		*slash = '\0';
	}
}

int relay_state_lock(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}
