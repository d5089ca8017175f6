// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* relaybpf --version: the version, then the running kernel's release and
 * the features of it relaybpf probed, each as the kernel answers it. */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <criterion/criterion.h>

#include "compat.h"
#include "version.h"

/* What version_print writes, and its second line. */
static char *version_text(char **kernel_line)
{
	char *text = NULL, *nl;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	cr_assert_not_null(f);
	version_print(f);
	fclose(f);
	nl = strchr(text, '\n');
	cr_assert_not_null(nl, "two lines: %s", text);
	*kernel_line = nl + 1;
	return text;
}

static bool matches(const char *re, const char *s)
{
	regex_t r;
	bool m;

	cr_assert_eq(regcomp(&r, re, REG_EXTENDED | REG_NOSUB), 0);
	m = regexec(&r, s, 0, NULL, 0) == 0;
	regfree(&r);
	return m;
}

/* The kernel reports XDP features from 6.3 on (the netdev netlink family). */
static bool kernel_at_least_6_3(const char *release)
{
	int major = 0, minor = 0;

	sscanf(release, "%d.%d", &major, &minor);
	return major > 6 || (major == 6 && minor >= 3);
}

Test(version, names_the_version_the_kernel_and_what_it_probed)
{
	struct utsname u;
	char *line, *text = version_text(&line), want[512];
	bool ipv6 = relay_features()->l4_csum_ipv6;

	cr_assert_eq(uname(&u), 0);
	cr_assert(matches("^relaybpf [0-9]+\\.[0-9]+\\.[0-9]+\n", text), "%s", text);
	cr_assert(!relay_features()->unprobed, "the unit tests run as root: the probe loads");
	snprintf(want, sizeof(want), "kernel %s: bpf_l4_csum_replace BPF_F_IPV6 %s, XDP features "
		 "for --xdp-mode native %s\n", u.release,
		 ipv6 ? "yes" : "no (IPv6 rewrites take the fallback)",
		 kernel_at_least_6_3(u.release) ? "yes" : "no (Linux 6.3 reports them)");
	cr_assert_str_eq(line, want);
	free(text);
}

Test(version, says_when_the_fallback_is_forced)
{
	char *line, *text;

	cr_assert_eq(setenv("RELAYBPF_FORCE_FALLBACK", "1", 1), 0);
	text = version_text(&line);
	cr_assert(strstr(line, "BPF_F_IPV6 off (RELAYBPF_FORCE_FALLBACK), "), "%s", line);
	free(text);
}
