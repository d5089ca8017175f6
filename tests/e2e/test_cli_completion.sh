#!/usr/bin/env bash
# The bash completion (dist/relaybpf.bash-completion), sourced and called
# as bash calls it: commands, each command's options (those of the other
# role left out once --role is given), fixed values from the options'
# metavariables, devices and files. It reads relaybpf's --help: the options
# offered are those of the binary's table. RELAYBPF_COMPLETION and RELAYBPF
# (default: the tree's) pick another completion file and binary, as
# test_pkg_install.sh does for the installed ones. Touches no network.
# e2e: family-neutral (run.sh runs it once, not as an IPv6 twin)
set -u
. "$(dirname "$0")/assert.sh"
REPO=$(cd "$(dirname "$0")/../.." && pwd)
RELAYBPF=${RELAYBPF:-$REPO/build/relaybpf}
. "${RELAYBPF_COMPLETION:-$REPO/dist/relaybpf.bash-completion}"
T=$(mktemp -d /tmp/relaybpf-completion.XXXXXX)
trap 'rm -rf "$T"' EXIT
trap "exit 1" INT TERM

# comp WORD...: COMPREPLY, sorted, for the words typed (the last one is
# the word under the cursor), completed for the program RELAYBPF.
comp() {
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_relaybpf "$RELAYBPF" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	[ ${#COMPREPLY[@]} -eq 0 ] || printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' '
}

expect_eq "complete -p: _relaybpf completes relaybpf" "complete -F _relaybpf relaybpf" \
	"$(complete -p relaybpf)"
expect_eq "commands" "attach backend conntrack daemon detach drain stats status undrain " "$(comp relaybpf "")"
expect_eq "a command's prefix" "daemon detach drain " "$(comp relaybpf d)"
expect_eq "options before the command" "--config --help --version " "$(comp relaybpf -)"
expect_eq "attach: every option of attach's table" \
	"--backend --config --ct-max --dev --exclude --force --front --help --mark --mss --ports --public-ip --rate-limit --role --service --table --tunnel-dev --xdp-mode " \
	"$(comp relaybpf attach --)"
expect_eq "attach --role back: no front option" "--config --dev --front --help --mark --role --table " \
	"$(comp relaybpf attach --role back --)"
expect_eq "daemon -r front: no back option, a flag skipped, daemon's own" \
	"--announce --announce-table --backend --config --ct-max --dev --exclude --force --health --health-fall --health-interval --health-rise --help --metrics --mss --ports --public-ip --rate-limit --role --service --tunnel-dev --xdp-mode " \
	"$(comp relaybpf daemon -r front --force --)"
expect_eq "status after -c FILE" "--config --help --json " "$(comp relaybpf -c /etc/relaybpf/front.conf status --)"
expect_eq "--role's values" "back front " "$(comp relaybpf attach --role "")"
expect_eq "--role=b (split at '=')" "back " "$(comp relaybpf attach --role = b)"
expect_eq "--xdp-mode's values" "auto generic native " "$(comp relaybpf attach --xdp-mode "")"
expect_eq "--proto's named values" "gre icmp tcp udp " "$(comp relaybpf conntrack --proto "")"
expect_eq "--exclude's word" "none " "$(comp relaybpf attach --exclude n)"
expect_eq "--mss's words" "auto off " "$(comp relaybpf attach --mss "")"
expect_eq "--watch SECONDS: nothing to offer" "" "$(comp relaybpf stats --watch "")"
expect_eq "--backend without services: no option offered as its value" "" \
	"$(comp relaybpf attach --backend "")"
expect_eq "--dev: the devices" "$(ls /sys/class/net | sort | tr '\n' ' ')" "$(comp relaybpf attach --dev "")"
expect_match "detach -d l: lo" "(^| )lo " "$(comp relaybpf detach -d l)"
touch "$T/front.conf" "$T/back.conf"
expect_eq "-c: files" "$T/back.conf $T/front.conf " "$(comp relaybpf -c "$T/")"
expect_eq "an unknown command: nothing" "" "$(comp relaybpf bogus --)"
# --backend NAME=: the services of the line and of the -c file.
printf 'service = game=udp:27000-27100,hash=src\n  service=voice=udp:9987\n' >"$T/svc.conf"
expect_eq "--backend: the line's services" "game= web= " \
	"$(comp relaybpf attach --service web=tcp:80,tcp:443 --service=game=udp:1 --backend "")"
expect_eq "--backend: the config file's services" "game= voice= " \
	"$(comp relaybpf -c "$T/svc.conf" attach --backend "")"
expect_eq "--backend w: one service" "web= " \
	"$(comp relaybpf attach --service web=tcp:80 --backend w)"
e2e_summary
