#!/usr/bin/env bash
# Pass-through verdicts: what relaybpf does not relay goes on to the filters
# behind its own on the same hook (TC_ACT_UNSPEC), on each hook it uses: the
# front's public and tunnel ingress, the back's tunnel ingress and default
# route device's egress. An operator's counting filter (a BPF program, as
# this kernel has no other classifier) behind relaybpf's sees that traffic
# and never a relayed packet relaybpf redirected; status lists it, and warns
# about one that runs before relaybpf's.
set -u
LAB_TUNNEL=veth
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/assert.sh"
. "$(dirname "$0")/cases.sh"
trap lab_down EXIT
trap "exit 1" INT TERM

lab_up_or_die
lab_peer_server 8080
expect_ok "attach front and back" lab_attach

# Nothing behind relaybpf yet: the kernel hands on what it passes, on
# ingress and egress alike (the host's port 22, pings of and from the
# backend), and it still relays.
lab_spawn "$NS_FRONT" socat "$TCP_LISTEN:22,fork,reuseaddr" SYSTEM:'echo host'
lab_wait_for "the front's port 22" front bash -c 'ss -Htln "sport = :22" | grep -q .'
expect_eq "$FAM: no filter behind: the front's own port 22 answers" host \
	"$(client socat -T5 - "TCP:$(hp "$FRONT_PUB" 22),connect-timeout=3" </dev/null)"
expect_ok "$FAM: no filter behind: the backend pings the front's tunnel address" \
	back ping -c1 -W2 "$FRONT_TUN"
expect_ok "$FAM: no filter behind: the backend pings its own uplink" back ping -c1 -W2 "$SINK_IP"
case_tcp_relay

# The operator's filter: counts the packets of TCP port 22 (not relayed:
# the host keeps it), of TCP port 8080 (relayed) and ICMP echo requests;
# returns TC_ACT_UNSPEC as a counter does.
cat >"$LAB_DIR/count.bpf.c" <<'C'
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, __u64);
} seen SEC(".maps");
SEC("tc") int count(struct __sk_buff *skb)
{
	__u8 h[14 + 60 + 4];
	__u32 l4, k;
	__u16 sport, dport;
	__u64 *v;
	__u8 proto;

	if (bpf_skb_load_bytes(skb, 0, h, 14 + 40 + 4))
		return -1;
	if (h[12] == 0x08 && h[13] == 0x00) {
		proto = h[14 + 9];
		l4 = 14 + (h[14] & 0xf) * 4;
	} else if (h[12] == 0x86 && h[13] == 0xdd) {
		proto = h[14 + 6];
		l4 = 14 + 40;
	} else {
		return -1;
	}
	if (l4 > 14 + 60 || bpf_skb_load_bytes(skb, l4, h, 4))
		return -1;
	sport = h[0] << 8 | h[1];
	dport = h[2] << 8 | h[3];
	if (proto == IPPROTO_TCP && (sport == 22 || dport == 22))
		k = 0;
	else if (proto == IPPROTO_TCP && (sport == 8080 || dport == 8080))
		k = 1;
	else if ((proto == IPPROTO_ICMP && h[0] == 8) || (proto == 58 && h[0] == 128))
		k = 2;
	else
		return -1;
	v = bpf_map_lookup_elem(&seen, &k);
	if (v)
		__sync_fetch_and_add(v, 1);
	return -1;
}
char LICENSE[] SEC("license") = "GPL";
C
clang -target bpf -O2 -g -I"/usr/include/$(gcc -dumpmachine)" -c "$LAB_DIR/count.bpf.c" \
	-o "$LAB_DIR/count.o" || { fail "build the counting filter"; e2e_summary; exit 1; }
# Behind relaybpf's filter (pref 1323): a higher number.
HOOKS=("$NS_FRONT f0 ingress" "$NS_FRONT $TUN_FRONT ingress" "$NS_BACK $TUN_BACK ingress"
	"$NS_BACK b2 egress")
for h in "${HOOKS[@]}"; do
	set -- $h
	in_ns "$1" tc filter add dev "$2" "$3" pref 2000 bpf obj "$LAB_DIR/count.o" sec tc da
done

# seen NS DEV HOOK KEY: the counter KEY (0 port 22, 1 port 8080, 2 echo
# requests) of the counting filter on that hook.
seen() {
	local id map hex
	id=$(in_ns "$1" tc -j filter show dev "$2" "$3" pref 2000 |
		jq -r '[.[]|select(.options.prog.id)][0].options.prog.id')
	map=$(bpftool -j prog show id "$id" | jq -r '.map_ids[0]')
	# The 8 bytes of the value, little-endian, as hex.
	hex=$(bpftool -j map lookup id "$map" key "$4" 0 0 0 |
		jq -r '.value|reverse|map(ltrimstr("0x"))|join("")')
	echo $((16#$hex))
}

# Traffic of every kind: relayed TCP, the host's port 22, pings of the
# front's tunnel address from the backend and of the sink.
case_tcp_relay
expect_eq "$FAM: the front's own port 22 still answers" host \
	"$(client socat -T5 - "TCP:$(hp "$FRONT_PUB" 22),connect-timeout=3" </dev/null)"
expect_ok "$FAM: the backend pings the front's tunnel address" back ping -c2 -W2 "$FRONT_TUN"
expect_ok "$FAM: the backend pings its own uplink" back ping -c2 -W2 "$SINK_IP"

expect_gt "$FAM: front public ingress: the operator's filter sees the host's port 22" 0 \
	"$(seen "$NS_FRONT" f0 ingress 0)"
expect_eq "$FAM: front public ingress: it never sees the relayed (redirected) port 8080" 0 \
	"$(seen "$NS_FRONT" f0 ingress 1)"
expect_gt "$FAM: front tunnel ingress: it sees the backend's pings of the front" 0 \
	"$(seen "$NS_FRONT" "$TUN_FRONT" ingress 2)"
expect_eq "$FAM: front tunnel ingress: it never sees the relayed replies" 0 \
	"$(seen "$NS_FRONT" "$TUN_FRONT" ingress 1)"
expect_gt "$FAM: back tunnel ingress: it sees the relayed traffic relaybpf only marks" 10 \
	"$(seen "$NS_BACK" "$TUN_BACK" ingress 1)"
expect_gt "$FAM: back egress: it sees the backend's own pings" 0 \
	"$(seen "$NS_BACK" b2 egress 2)"

# status names the filters behind relaybpf's: information, still healthy.
st=$(front "$RELAYBPF" status --json)
expect_eq "$FAM: front status --json lists the operator's filters behind relaybpf" \
	"f0 ingress 2000 bpf false,$TUN_FRONT ingress 2000 bpf false" \
	"$(jq -r '[.foreign_filters[]|"\(.dev) \(.hook) \(.pref) \(.kind) \(.before_relaybpf)"]|join(",")' <<<"$st")"
expect_eq "$FAM: front status: healthy, no warning" "true 0" \
	"$(jq -r '"\(.healthy) \(.warnings|length)"' <<<"$st")"
st=$(back "$RELAYBPF" status --json)
expect_eq "$FAM: back status --json lists the tunnel's and the egress device's" \
	"$TUN_BACK ingress 2000,b2 egress 2000" \
	"$(jq -r '[.foreign_filters[]|"\(.dev) \(.hook) \(.pref)"]|join(",")' <<<"$st")"
out=$(front "$RELAYBPF" status)
expect_eq "$FAM: front status exits 0 with filters behind" 0 $?
expect_match "$FAM: front status text names the filter behind" \
	"other filter +f0 ingress: bpf filter at pref 2000, behind relaybpf's" "$out"

# A filter added before relaybpf's (a lower pref): status warns that it may
# take relayed traffic, but the role is not degraded.
front tc filter add dev f0 ingress pref 100 bpf obj "$LAB_DIR/count.o" sec tc da
out=$(front "$RELAYBPF" status)
expect_eq "$FAM: a filter before relaybpf's: status still exits 0" 0 $?
expect_match "$FAM: a filter before relaybpf's: status warns" \
	"WARNING +f0 ingress: bpf filter at pref 100 runs before relaybpf's \(pref 1323\)" "$out"
expect_eq "$FAM: a filter before relaybpf's: --json healthy, one warning, before_relaybpf" \
	"true 1 true" \
	"$(front "$RELAYBPF" status --json |
		jq -r '"\(.healthy) \(.warnings|length) \([.foreign_filters[]|select(.pref==100)][0].before_relaybpf)"')"
e2e_summary
