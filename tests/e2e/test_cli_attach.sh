#!/usr/bin/env bash
# attach is idempotent and atomic, detach exact: attach twice gives one
# filter per hook and one rule; a changed option updates in place and keeps
# the flows; a changed --ct-max resizes the tables in place; other tools'
# TC filters and ip rules survive attach and detach; a failure injected at
# every bpf() and netlink call of attach (strace fault injection), or a
# SIGKILL there followed by a rerun, leaves no residue; detaching what is
# not attached says so and exits 0.
# e2e: long (fault injection: about 300 s for IPv4, its bpf() faults)
set -u
LAB_TUNNEL=veth
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/assert.sh"
. "$(dirname "$0")/cases.sh"
trap lab_down EXIT
trap "exit 1" INT TERM

ATTACH_FRONT=(attach --role front --dev f0 --backend "$BACK_TUN")
ATTACH_BACK=(attach --role back --dev "$TUN_BACK" --front "$FRONT_TUN")

ours() { # ns dev: relaybpf's filters on the device's ingress
	in_ns "$1" tc filter show dev "$2" ingress | grep -c 'handle 0x52b'
}
foreign() { # ns dev: the foreign filters
	in_ns "$1" tc filter show dev "$2" ingress | grep -c 'foreign_pass'
}
attached() { # ns role: "yes" if status shows the role
	in_ns "$1" "$RELAYBPF" status --json | jq -r "if .$2 then \"yes\" else \"no\" end"
}
# Everything the front role installs, as one line.
front_state() {
	echo "filters=$(($(ours "$NS_FRONT" f0) + $(ours "$NS_FRONT" "$TUN_FRONT")))" \
		"state=$(attached "$NS_FRONT" front)"
}
back_state() {
	echo "filter=$(ours "$NS_BACK" "$TUN_BACK")" \
		"rule=$(back ip -"$LAB_FAMILY" rule show | grep -c 'fwmark 0x1 lookup 100')" \
		"main=$(back ip -"$LAB_FAMILY" rule show | grep -c 'fwmark 0x1 lookup main suppress_prefixlength 0')" \
		"route=$(back ip -"$LAB_FAMILY" route show table 100 2>/dev/null | grep -c default)" \
		"sysctl=$(back sysctl -n net.ipv4.tcp_fwmark_accept)" \
		"state=$(attached "$NS_BACK" back)"
}
FRONT_NONE="filters=0 state=no"
FRONT_FULL="filters=2 state=yes"
BACK_NONE="filter=0 rule=0 main=0 route=0 sysctl=0 state=no"
BACK_FULL="filter=1 rule=1 main=1 route=1 sysctl=1 state=yes"

lab_up_or_die
lab_peer_server 8080

# Other tools' filters (a tiny BPF object at another priority) and rule.
cat >"$LAB_DIR/foreign.bpf.c" <<'C'
struct __sk_buff;
/* TC_ACT_UNSPEC: let the next filter (relaybpf's) classify too. */
__attribute__((section("tc"), used)) int foreign_pass(struct __sk_buff *skb) { return -1; }
char _license[] __attribute__((section("license"), used)) = "GPL";
C
clang -target bpf -O2 -c "$LAB_DIR/foreign.bpf.c" -o "$LAB_DIR/foreign.o"
for spec in "$NS_FRONT f0" "$NS_FRONT $TUN_FRONT" "$NS_BACK $TUN_BACK"; do
	set -- $spec
	in_ns "$1" tc qdisc add dev "$2" clsact
	in_ns "$1" tc filter add dev "$2" ingress pref 100 bpf obj "$LAB_DIR/foreign.o" sec tc da
done
foreign_src=192.0.2.99
[ "$LAB_FAMILY" = 6 ] && foreign_src=2001:db8:2::99
back ip -"$LAB_FAMILY" rule add from "$foreign_src" lookup 200 priority 9000
FOREIGN_RULE="9000:	from $foreign_src lookup 200"

# Detach with nothing attached.
out=$(front "$RELAYBPF" detach 2>&1)
expect_eq "detach with nothing attached exits 0" 0 $?
expect_match "detach with nothing attached says so" "nothing to detach" "$out"

# Attach twice: nothing duplicated, flows and counters survive.
expect_ok "attach front and back" lab_attach
case_tcp_relay
ct_before=$(front "$RELAYBPF" status --json | jq .front.conntrack.entries)
fwd_before=$(front "$RELAYBPF" stats --json | jq .front.forwarded_packets)
expect_ok "attach front again" front "$RELAYBPF" "${ATTACH_FRONT[@]}"
out=$(back "$RELAYBPF" "${ATTACH_BACK[@]}")
expect_eq "attach back again" 0 "$?"
expect_match "attach ends with the hint that the daemon repairs drift" \
	"relaybpf status. checks every piece, .relaybpf daemon. \(the systemd unit relaybpf@back\) repairs" "$out"
expect_eq "attach twice: one filter on each front hook" "$FRONT_FULL" "$(front_state)"
expect_eq "attach twice: one filter, one rule, one route on the back" "$BACK_FULL" "$(back_state)"
expect_eq "attach twice: conntrack survives" "$ct_before" \
	"$(front "$RELAYBPF" status --json | jq .front.conntrack.entries)"
expect_eq "attach twice: counters survive" "$fwd_before" \
	"$(front "$RELAYBPF" stats --json | jq .front.forwarded_packets)"

# A changed option updates in place and keeps the flows.
expect_ok "attach front with --mss off" front "$RELAYBPF" "${ATTACH_FRONT[@]}" --mss off
expect_eq "changed option: in force" 0 "$(front "$RELAYBPF" status --json | jq .front.mss)"
expect_eq "changed option: conntrack survives" "$ct_before" \
	"$(front "$RELAYBPF" status --json | jq .front.conntrack.entries)"
expect_eq "changed option: still one filter per hook" "$FRONT_FULL" "$(front_state)"
expect_ok "back with another mark/table" back "$RELAYBPF" "${ATTACH_BACK[@]}" --mark 0x2 --table 101
expect_eq "changed mark: the old rules and route are gone" "rule=0 main=0 route=0" \
	"$(back_state | grep -o 'rule=[0-9] main=[0-9] route=[0-9]')"
expect_eq "changed mark: exactly one new rule" 1 \
	"$(back ip -"$LAB_FAMILY" rule show | grep -c 'fwmark 0x2 lookup 101')"
expect_ok "back back to the defaults" back "$RELAYBPF" "${ATTACH_BACK[@]}"
expect_eq "back to the defaults: no rule of table 101 left" 0 \
	"$(back ip -"$LAB_FAMILY" rule show | grep -c 'lookup 101')"
case_tcp_relay

# A TCP upload in progress while both roles are attached again with changed
# options arrives whole: no flow dropped, no window without relaying.
( for i in $(seq 40); do head -c 10000 /dev/urandom; sleep 0.05; done |
	client socat -T5 -t5 - "TCP:$(hp "$FRONT_PUB" 8080),connect-timeout=3" >"$LAB_DIR/slow.out" ) &
slow=$!
sleep 0.3
for mss in 1300 off auto; do
	front "$RELAYBPF" "${ATTACH_FRONT[@]}" --mss "$mss" >/dev/null
	back "$RELAYBPF" "${ATTACH_BACK[@]}" >/dev/null
	sleep 0.2
done
wait "$slow"
expect_eq "an upload running across 6 re-attaches arrives whole" "backend saw $CLIENT_IP 400000" \
	"$(cat "$LAB_DIR/slow.out")"

# A late failure while attached keeps the previous configuration.
out=$(front "$RELAYBPF" "${ATTACH_FRONT[@]}" --tunnel-dev nosuchdev 2>&1)
expect_eq "attach with a missing second device fails with 1" 1 $?
expect_match "and names it" "nosuchdev" "$out"
expect_eq "the previous front stays" "$FRONT_FULL" "$(front_state)"
# A changed --ct-max while attached: the tables move into maps of the new
# size (their flows with them; tests/e2e/test_rel_upgrade.sh follows a
# connection through it), said, the front stays.
out=$(front "$RELAYBPF" "${ATTACH_FRONT[@]}" --ct-max 131072 2>&1)
expect_eq "attach with a changed --ct-max while attached succeeds" 0 $?
expect_match "  and says it moved the table" "relay_ct: [0-9]+ entries moved into a map of 131072" \
	"$out"
expect_eq "  the front stays" "$FRONT_FULL" "$(front_state)"
expect_eq "  stats shows the new size" 131072 \
	"$(front "$RELAYBPF" stats --json | jq -r .front.conntrack_max)"
tun_mtu=$(front ip -o link show "$TUN_FRONT" | grep -o 'mtu [0-9]*' | cut -d' ' -f2)
expect_eq "its configuration too (--mss auto: MTU - 40)" "$TUN_FRONT $((tun_mtu - 40))" \
	"$(front "$RELAYBPF" status --json | jq -r '"\(.front.tunnel.dev) \(.front.mss)"')"

# Namespaces: each sees only its own state, with nsenter or ip netns exec.
# ip netns exec hides the host's bpffs; relaybpf reaches it through
# /proc/1/root, which a sandbox may forbid: then it must say so, exit 1.
if [ -r /proc/1/ns/mnt ]; then
	expect_eq "ip netns exec sees the state nsenter attached" \
		"$(front "$RELAYBPF" status --json | jq -c .front.public)" \
		"$(ip netns exec "$NS_FRONT" "$RELAYBPF" status --json | jq -c .front.public)"
else
	err=$(ip netns exec "$NS_FRONT" "$RELAYBPF" detach 2>&1)
	expect_eq "ip netns exec without the host's bpffs: detach fails" 1 $?
	expect_match "  and says why" "cannot reach the host's bpffs" "$err"
fi
expect_eq "the front's namespace has no back, the back's no front" "null null" \
	"$(front "$RELAYBPF" status --json | jq -c .back) $(back "$RELAYBPF" status --json | jq -c .front)"
# detach --role and --dev narrow it.
out=$(front "$RELAYBPF" detach --role back)
expect_match "detach --role back on the front: nothing to detach" "nothing to detach" "$out"
out=$(front "$RELAYBPF" detach --dev f1)
expect_match "detach --dev of a device relaybpf does not use: nothing" "nothing to detach on f1" "$out"
expect_eq "the front is still attached" "$FRONT_FULL" "$(front_state)"

# Detach: exactly ours goes, the foreign filters, qdisc and rule stay.
expect_ok "detach front by its tunnel device" front "$RELAYBPF" detach --dev "$TUN_FRONT"
expect_ok "detach back" back "$RELAYBPF" detach
expect_eq "front detached" "$FRONT_NONE" "$(front_state)"
expect_eq "back detached, sysctl restored" "$BACK_NONE" "$(back_state)"
expect_eq "foreign filters survive attach and detach" "1 1 1" \
	"$(foreign "$NS_FRONT" f0) $(foreign "$NS_FRONT" "$TUN_FRONT") $(foreign "$NS_BACK" "$TUN_BACK")"
expect_match "foreign ip rule at relaybpf's priority survives" "$FOREIGN_RULE" "$(back ip -"$LAB_FAMILY" rule show)"
out=$(back "$RELAYBPF" detach 2>&1)
expect_eq "detach twice exits 0" 0 $?
expect_match "detach twice says nothing was attached" "nothing to detach" "$out"
expect_eq "no relaybpf state in bpffs for these namespaces" "" \
	"$(front "$RELAYBPF" status | grep -v 'nothing attached'; back "$RELAYBPF" status | grep -v 'nothing attached')"

# Fault injection: fail the Nth bpf() or netlink sendto() of attach, or kill
# the loader there. A failed run must leave nothing; a killed run must be
# repaired by a rerun; a run that succeeds anyway must be complete.
inject() { # ns role expect_full expect_none syscall max
	local ns=$1 role=$2 full=$3 none=$4 sc=$5 max=$6 n rc bad=0 state args
	if [ "$role" = front ]; then args=("${ATTACH_FRONT[@]}"); else args=("${ATTACH_BACK[@]}"); fi
	for n in $(seq "$max"); do
		strace -f -qq -o /dev/null -e trace="$sc" -e inject="$sc:error=EPERM:when=$n" \
			nsenter --net="/run/netns/$ns" "$RELAYBPF" "${args[@]}" >/dev/null 2>&1
		rc=$?
		state=$("${role}_state")
		if { [ $rc -ne 0 ] && [ "$state" != "$none" ]; } ||
		   { [ $rc -eq 0 ] && [ "$state" != "$full" ]; }; then
			echo "    $role: $sc #$n failing: exit $rc leaves $state"
			bad=$((bad + 1))
		fi
		[ $rc -eq 0 ] && in_ns "$ns" "$RELAYBPF" detach >/dev/null
		( strace -f -qq -o /dev/null -e trace="$sc" -e inject="$sc:signal=KILL:when=$n" \
			nsenter --net="/run/netns/$ns" "$RELAYBPF" "${args[@]}" >/dev/null 2>&1
		  true ) 2>/dev/null # the subshell, not the script, reports the kill
		in_ns "$ns" "$RELAYBPF" "${args[@]}" >/dev/null 2>&1
		state=$("${role}_state")
		if [ "$state" != "$full" ]; then
			echo "    $role: killed at $sc #$n, the rerun leaves $state"
			bad=$((bad + 1))
		fi
		in_ns "$ns" "$RELAYBPF" detach >/dev/null
		state=$("${role}_state")
		if [ "$state" != "$none" ]; then
			echo "    $role: killed at $sc #$n, rerun and detach leave $state"
			bad=$((bad + 1))
			in_ns "$ns" "$RELAYBPF" detach >/dev/null
		fi
	done
	expect_eq "$role: failure or SIGKILL at each of $max $sc calls: no residue" 0 "$bad"
}
# Call counts of one attach here: front 39 bpf + 6 sendto, back 25 + 4.
# The bpf() calls are the same for both families (addresses are only map
# values): the IPv4 twin fails each of them, which is most of this script's
# time (about 4 attaches each, every one loading the programs); the IPv6
# twin fails the netlink and sysctl calls, where the family changes what
# is sent.
if [ "$LAB_FAMILY" = 4 ]; then FAULTED=(bpf sendto); else FAULTED=(sendto); fi
declare -A FRONT_CALLS=([bpf]=45 [sendto]=8) BACK_CALLS=([bpf]=30 [sendto]=7)
for sc in "${FAULTED[@]}"; do
	inject "$NS_FRONT" front "$FRONT_FULL" "$FRONT_NONE" "$sc" "${FRONT_CALLS[$sc]}"
	inject "$NS_BACK" back "$BACK_FULL" "$BACK_NONE" "$sc" "${BACK_CALLS[$sc]}"
done
# One sysctl write more with IPv6: net.ipv6.fwmark_reflect.
SYSCTL_WRITES=$((LAB_FAMILY == 6 ? 5 : 4))
inject "$NS_BACK" back "$BACK_FULL" "$BACK_NONE" write "$SYSCTL_WRITES"
# The same while attached, with changed options: a failed update must leave
# the previous configuration exactly as it was.
front_conf() {
	front "$RELAYBPF" status --json | jq -c '.front | del(.public.prog_id, .tunnel.prog_id, .tunnels[].prog_id, .conntrack)'
}
back_conf() {
	echo "$(back "$RELAYBPF" status --json | jq -c '.back | del(.tunnels[].tunnel.prog_id)')" \
		"rules=$(back ip -"$LAB_FAMILY" rule show | grep fwmark)" \
		"routes=$(back ip -"$LAB_FAMILY" route show table all | grep -c '^default.* table 10[01]')"
}
inject_update() { # role syscall max changed-options...
	local role=$1 sc=$2 max=$3 n rc bad=0 ref now args
	shift 3
	if [ "$role" = front ]; then args=("${ATTACH_FRONT[@]}"); else args=("${ATTACH_BACK[@]}"); fi
	"$role" "$RELAYBPF" "${args[@]}" >/dev/null
	ref=$("${role}_conf")
	for n in $(seq "$max"); do
		"$role" strace -f -qq -o /dev/null -e trace="$sc" -e inject="$sc:error=EPERM:when=$n" \
			"$RELAYBPF" "${args[@]}" "$@" >/dev/null 2>&1
		rc=$?
		now=$("${role}_conf")
		if [ $rc -ne 0 ] && [ "$now" != "$ref" ]; then
			echo "    $role update: $sc #$n failing changed the configuration: $now"
			bad=$((bad + 1))
		fi
		[ $rc -eq 0 ] && "$role" "$RELAYBPF" "${args[@]}" >/dev/null
	done
	"$role" "$RELAYBPF" detach >/dev/null
	expect_eq "$role: an update failing at each of $max $sc calls keeps the previous configuration" 0 "$bad"
}
other_pub=203.0.113.77
[ "$LAB_FAMILY" = 6 ] && other_pub=2001:db8:1::77
for sc in "${FAULTED[@]}"; do
	inject_update front "$sc" "${FRONT_CALLS[$sc]}" --mss 1300 --public-ip "$other_pub" \
		--exclude tcp:23
	inject_update back "$sc" "${BACK_CALLS[$sc]}" --mark 0x2 --table 101
done
inject_update back write "$SYSCTL_WRITES" --mark 0x2 --table 101
expect_eq "front detached after the updates" "$FRONT_NONE" "$(front_state)"
expect_eq "back detached after the updates" "$BACK_NONE" "$(back_state)"
expect_eq "foreign filters survive all of it" "1 1 1" \
	"$(foreign "$NS_FRONT" f0) $(foreign "$NS_FRONT" "$TUN_FRONT") $(foreign "$NS_BACK" "$TUN_BACK")"
expect_match "foreign rule survives all of it" "$FOREIGN_RULE" "$(back ip -"$LAB_FAMILY" rule show)"
e2e_summary
