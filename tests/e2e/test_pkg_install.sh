#!/usr/bin/env bash
# The Debian package on this machine: make deb builds it (lintian finds no
# error), apt-get installs it from the file with what is installed already
# (no network), the installed files are those of `make install` under /usr,
# the installed relaybpf works (--version names VERSION and the running
# kernel, --help, the bash completion through bash-completion's loader, an
# attach, relay and detach round in a namespaces lab of each family with
# /usr/sbin/relaybpf), systemd-analyze verify accepts an instance of the
# unit, and apt-get purge leaves nothing behind: none of the files dpkg
# listed, no other relaybpf file anywhere it could have written. The
# package is purged on failure too. Needs root; refuses to run when
# relaybpf is installed already (it would remove it).
# e2e: family-neutral (run.sh runs it once: the lab round runs both families)
# e2e: alone (it installs and purges the package on this host, then looks for relaybpf files)
set -u
. "$(dirname "$0")/assert.sh"
REPO=$(cd "$(dirname "$0")/../.." && pwd)
PATH="/usr/sbin:/usr/bin:/sbin:/bin:$PATH"
T=$(mktemp -d /tmp/relaybpf-pkg.XXXXXX)
VERSION=$(cat "$REPO/VERSION")
DEB="$REPO/build/relaybpf_${VERSION}_$(dpkg --print-architecture).deb"
BIN=/usr/sbin/relaybpf
export DEBIAN_FRONTEND=noninteractive

installed() { dpkg-query -W -f='${Status}' relaybpf 2>/dev/null | grep -q 'install ok installed'; }
# Where a package (or its scripts) could leave files: relaybpf's among them,
# dpkg's own records included. Not man-db's cache of formatted pages, which
# using `man` fills (systemd-analyze verify does, for Documentation=).
relaybpf_paths() {
	find /usr /etc /var /opt /srv \( -path /var/tmp -o -path /var/cache/apt -o -path /var/cache/man \) \
		-prune -o \
		-iname '*relaybpf*' -print 2>/dev/null | sort
}
cleanup() {
	installed && apt-get purge -y -qq relaybpf >/dev/null 2>&1
	rm -rf "$T"
}

if installed; then
	fail "relaybpf is installed on this machine already: this test installs and purges it"
	e2e_summary
	exit 1
fi
trap cleanup EXIT
trap "exit 1" INT TERM

if ! make -C "$REPO" deb >"$T/deb.log" 2>&1; then
	tail -30 "$T/deb.log"
	fail "make deb"
	e2e_summary
	exit 1
fi
pass "make deb: $(basename "$DEB")"
expect_eq "make deb leaves only the .deb (no .changes, .buildinfo, build tree)" "" \
	"$(cd "$REPO/build" && ls -d deb ./*.changes ./*.buildinfo ./*-dbgsym* 2>/dev/null)"
expect_eq "lintian: no error" 0 "$(grep -c '^E: ' "$T/deb.log")"
expect_match "Depends: libbpf1 (shlibs), which brings libelf1 and zlib1g" "(^|, )libbpf1 " \
	"$(dpkg-deb -f "$DEB" Depends)"

before=$(relaybpf_paths)
# The package's paths that exist already (/usr, /usr/share/doc...): purge
# leaves those.
existing=$(dpkg-deb -c "$DEB" | awk '{ sub(/^\./, "", $6); sub(/\/$/, "", $6); print $6 }' |
	while read -r f; do [ -z "$f" ] || [ -e "$f" ] && echo "${f:-/}"; done)
out=$(apt-get install -y --no-install-recommends "$DEB" 2>&1)
expect_eq "apt-get install ./relaybpf_${VERSION}_*.deb" "0:" "$?:$(grep -E '^(E|W): ' <<<"$out")"
listed=$(dpkg -L relaybpf)
for f in /usr/sbin/relaybpf /lib/systemd/system/relaybpf@.service /usr/share/man/man8/relaybpf.8.gz \
	/usr/share/doc/relaybpf/examples/front.conf /usr/share/doc/relaybpf/examples/back.conf \
	/usr/share/doc/relaybpf/copyright /usr/share/bash-completion/completions/relaybpf; do
	expect_match "installed and listed: $f" "^$f\$" "$(grep -x "$f" <<<"$listed" | xargs -r ls -d)"
done
expect_eq "the unit is not enabled (a template: the operator picks the instance)" "" \
	"$(find /etc/systemd/system -name 'relaybpf@*' 2>/dev/null)"
expect_eq "the unit runs the installed binary on /etc/relaybpf/INSTANCE.conf" \
	"ExecStart=/usr/sbin/relaybpf -c /etc/relaybpf/%i.conf daemon" \
	"$(grep ^ExecStart= /lib/systemd/system/relaybpf@.service)"

# The installed binary.
expect_eq "relaybpf --version: VERSION" "relaybpf $VERSION" "$("$BIN" --version | head -1)"
expect_match "relaybpf --version: the running kernel and what it probed" \
	"^kernel $(uname -r): bpf_l4_csum_replace BPF_F_IPV6 (yes|no), XDP features for --xdp-mode native (yes|no)" \
	"$("$BIN" --version | sed -n 2p)"
expect_match "relaybpf --help lists --version" "-V, --version" "$("$BIN" --help)"
expect_match "relaybpf attach --help" "--xdp-mode auto\|native\|generic" "$("$BIN" attach --help)"
expect_match "man relaybpf finds the installed page" "^/usr/share/man/man8/relaybpf.8.gz$" "$(man -w relaybpf)"
expect_eq "bash-completion loads the completion on demand" "complete -F _relaybpf relaybpf" \
	"$(bash -c '. /usr/share/bash-completion/bash_completion; _completion_loader relaybpf; complete -p relaybpf' 2>&1)"
out=$(RELAYBPF=$BIN RELAYBPF_COMPLETION=/usr/share/bash-completion/completions/relaybpf \
	bash "$(dirname "$0")/test_cli_completion.sh" 2>&1)
expect_match "test_cli_completion.sh on the installed completion and binary" "^RESULT [0-9]+ 0$" \
	"$(grep '^RESULT' <<<"$out")$(grep FAIL <<<"$out")"

# An instance of the template (verify needs one), with the installed man
# page for Documentation=; a config file is what the instance reads.
mkdir -p "$T/unit"
cp /lib/systemd/system/relaybpf@.service "$T/unit/relaybpf@front.service"
out=$(systemd-analyze verify "$T/unit/relaybpf@front.service" 2>&1)
expect_eq "systemd-analyze verify relaybpf@front.service" "0:" "$?:$out"
expect_ok "the example front.conf parses for the unit's daemon" \
	"$BIN" -c /usr/share/doc/relaybpf/examples/front.conf daemon --help

# attach, relay, status, detach in a lab, with the installed binary, for
# each family (lib.sh reads LAB_FAMILY when sourced: a subshell each).
for fam in 4 6; do
	out=$(
		LAB_FAMILY=$fam LAB_TUNNEL=veth
		. "$(dirname "$0")/lib.sh"
		. "$(dirname "$0")/assert.sh"
		. "$(dirname "$0")/cases.sh"
		RELAYBPF=$BIN
		trap lab_down EXIT
		lab_up_or_die
		lab_peer_server 8080
		expect_ok "$FAM: attach front and back with $BIN" lab_attach
		case_tcp_relay
		expect_eq "$FAM: status --json: version and kernel" "$VERSION $(uname -r) true" \
			"$(front "$BIN" status --json | jq -r '"\(.version) \(.kernel.release) \(.healthy)"')"
		expect_ok "$FAM: detach front" front "$BIN" detach
		expect_ok "$FAM: detach back" back "$BIN" detach
		front "$BIN" status >/dev/null 2>&1
		expect_eq "$FAM: nothing attached after detach (status exits 3)" 3 "$?"
		expect_eq "$FAM: no relaybpf filter left" 0 \
			"$( (front tc filter show dev f0 ingress; back tc filter show dev "$TUN_BACK" ingress) |
				grep -c 'handle 0x52b')"
		e2e_summary
	)
	echo "$out" | grep -v '^RESULT '
	read -r p f < <(awk '/^RESULT /{print $2, $3}' <<<"$out")
	E2E_PASSED=$((E2E_PASSED + ${p:-0}))
	E2E_FAILED=$((E2E_FAILED + ${f:-1}))
done

# Purge: every file dpkg listed that the install created is gone, and no
# other relaybpf file is left (what a maintainer script made, dpkg's records).
out=$(apt-get purge -y relaybpf 2>&1)
expect_eq "apt-get purge relaybpf" "0:" "$?:$(grep -E '^(E|W): ' <<<"$out")"
expect_eq "dpkg knows relaybpf no more" "" "$(dpkg-query -W -f='${Status}' relaybpf 2>/dev/null | grep -v not-installed)"
left=$(while read -r f; do
	[ "$f" = /. ] || grep -qxF "$f" <<<"$existing" && continue
	{ [ -e "$f" ] || [ -L "$f" ]; } && echo "$f"
done <<<"$listed")
expect_eq "purge removed every file dpkg -L listed" "" "$left"
expect_eq "no relaybpf file left under /usr /etc /var /opt /srv" "$before" "$(relaybpf_paths)"
e2e_summary
