#!/usr/bin/env bash
# make install under PREFIX/DESTDIR, the systemd unit passes
# systemd-analyze verify, the example configs parse, and the man page
# documents every option that some --help lists. Touches no network.
# e2e: family-neutral (run.sh runs it once, not as an IPv6 twin)
set -u
. "$(dirname "$0")/assert.sh"
REPO=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d /tmp/relaybpf-cli-install.XXXXXX)
trap 'rm -rf "$T"' EXIT
trap "exit 1" INT TERM

make -s -C "$REPO" install DESTDIR="$T/dest" PREFIX=/usr >/dev/null
for f in usr/sbin/relaybpf usr/lib/systemd/system/relaybpf@.service usr/share/man/man8/relaybpf.8 \
	usr/share/doc/relaybpf/examples/front.conf usr/share/doc/relaybpf/examples/back.conf \
	usr/share/bash-completion/completions/relaybpf; do
	expect_ok "DESTDIR install: /$f" test -s "$T/dest/$f"
done
expect_match "the unit runs the installed binary" "^ExecStart=/usr/sbin/relaybpf -c /etc/relaybpf/%i.conf daemon$" \
	"$(grep ^ExecStart= "$T/dest/usr/lib/systemd/system/relaybpf@.service")"
expect_eq "no placeholder left in the unit" 0 "$(grep -c @[A-Z]*@ "$T/dest/usr/lib/systemd/system/relaybpf@.service")"

# Installed for real under a prefix, so that systemd-analyze finds the binary and the man page.
P="$T/prefix"
make -s -C "$REPO" install PREFIX="$P" SYSCONFDIR="$P/etc" >/dev/null
mkdir -p "$P/etc/relaybpf"
cp "$P/share/doc/relaybpf/examples/front.conf" "$P/share/doc/relaybpf/examples/back.conf" "$P/etc/relaybpf/"
for role in front back; do
	cp "$P/lib/systemd/system/relaybpf@.service" "$T/relaybpf@$role.service"
	out=$(MANPATH="$P/share/man" systemd-analyze verify "$T/relaybpf@$role.service" 2>&1)
	expect_eq "systemd-analyze verify relaybpf@$role.service" "0:" "$?:$out"
done
sed 's|^ExecStart=.*|ExecStart=relaybpf-nowhere daemon|' "$T/relaybpf@front.service" >"$T/broken@front.service"
expect_match "(verify does catch a broken unit)" "relaybpf-nowhere" \
	"$(MANPATH="$P/share/man" systemd-analyze verify "$T/broken@front.service" 2>&1)"

# The examples parse for every command the unit runs (--help stops before any change).
for role in front back; do
	for cmd in attach daemon detach; do
		expect_ok "example $role.conf parses for $cmd" \
			"$P/sbin/relaybpf" -c "$P/etc/relaybpf/$role.conf" "$cmd" --help
	done
done

# Every option of every --help is in the man page, and the other way round.
man_text=$(MANWIDTH=200 man -l "$P/share/man/man8/relaybpf.8" 2>/dev/null)
help_opts=$(for c in "" attach daemon detach status stats conntrack; do "$P/sbin/relaybpf" $c --help; done |
	grep -oE -- '--[a-z][a-z-]+' | sort -u)
for opt in $help_opts; do
	expect_match "man page documents $opt" -- "$opt" "$man_text"
done
for opt in $(grep -oE -- '^ +--[a-z][a-z-]+|^ +-[a-zA-Z], --[a-z][a-z-]+' <<<"$man_text" | grep -oE -- '--[a-z-]+' | sort -u); do
	expect_match "--help of some command lists $opt (man page)" "^$opt\$" "$help_opts"
done
e2e_summary
