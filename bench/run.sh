#!/usr/bin/env bash
# make bench: relaybpf against the iptables recipe, plain routing and the
# machine's XDP ceiling, on the e2e lab with a veth tunnel, configurations
# interleaved (A B C A B C ...), medians. Method and reading: docs/bench.md.
#
#   BENCH_QUICK=1     1-2 minute smoke run (1 round, short windows)
#   BENCH_ROUNDS=N    rounds of every configuration (default 3)
#   BENCH_SECONDS=S   measuring window of each pps/TCP sample (default 3)
#   BENCH_CONFIGS="route recipe relaybpf-tc relaybpf-xdp relaybpf-tc-svc2 relaybpf-xdp-svc2
#                  tc-ceiling ceiling rev-ceiling"
#   BENCH_WORKLOADS="pps rev crr rr bulk prog_ns ct_scale"  a subset of the workloads
#                     (rev: udp64_pps_rev_1/_10000, the backend's replies to the clients)
#   BENCH_TCP64=1     also tcp64_pps_1/_10000 (64-byte TCP ACKs: conntrack's TCP path)
#   BENCH_GEN_PPS=N   the generator offers N frames a second in every pps window
#                     (each frame waits for its time); default 0: as many as it
#                     can (a flood). Samples: gen_pps offered, pps received, loss_pct
#   BENCH_SEARCH=1    a loss-free search after each pps window (default 0: the pps
#                     figures are the windows' alone; 1: after each but route's, a binary search
#                     of paced trials between half and twice the window's figure for
#                     the highest rate with less than BENCH_LOSS_PCT lost; samples
#                     lossfree_pps, lossfree_offered_pps, lossfree_loss_pct, ...;
#                     report.py reads the targets from it). BENCH_SEARCH_TRIALS
#                     (default 6; quick: 3), BENCH_TRIAL_SECONDS (0.8; quick: 0.5),
#                     BENCH_LOSS_PCT (0.1)
#   BENCH_PERF=1      perf profile of the forwarder (and of the generator) in every
#                     pps window of round 1: build/bench/perf[-gen]-WORKLOAD-CONFIG.txt;
#                     and of both CPUs, every thread, in every tcp_bulk window of
#                     round 1: build/bench/perf-tcp_bulk_DIR-CONFIG.txt (by CPU and
#                     command, then the top symbols); each recording is kept as
#                     build/bench/perf-WORKLOAD-CONFIG.data (perf report -i;
#                     bench/perf_split.py: the samples by context and what they ran)
#   BENCH_TUNNEL=wg   the second table: the WireGuard (wireguard-go) tunnel;
#                     outputs get a -wg suffix
set -u
LAB_TUNNEL=${BENCH_TUNNEL:-veth}
# shellcheck disable=SC2034 # read by lib.sh
LAB_ID="bench$$"
. "$(dirname "$0")/../tests/e2e/lib.sh"

RBBENCH="$REPO/build/bench/rbbench"
OUT="$REPO/build/bench"
SUFFIX=""
[ "$LAB_TUNNEL" = veth ] || SUFFIX="-$LAB_TUNNEL"
QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then
	ROUNDS=${BENCH_ROUNDS:-1}
	SECS=${BENCH_SECONDS:-1}
	SEARCH_TRIALS=${BENCH_SEARCH_TRIALS:-3}
	TRIAL_SECS=${BENCH_TRIAL_SECONDS:-0.5}
else
	ROUNDS=${BENCH_ROUNDS:-3}
	SECS=${BENCH_SECONDS:-3}
	SEARCH_TRIALS=${BENCH_SEARCH_TRIALS:-6}
	TRIAL_SECS=${BENCH_TRIAL_SECONDS:-0.8}
fi
CONFIGS=${BENCH_CONFIGS:-route recipe relaybpf-tc relaybpf-xdp relaybpf-tc-svc2 relaybpf-xdp-svc2 tc-ceiling ceiling rev-ceiling}
WORKLOADS=" ${BENCH_WORKLOADS:-pps rev crr rr bulk prog_ns ct_scale} "
wanted() { [ "${WORKLOADS#* "$1" }" != "$WORKLOADS" ]; }
PPS_PROTOS="udp"
[ "${BENCH_TCP64:-0}" = 1 ] && PPS_PROTOS="udp tcp"
WARMUP=1
GEN_CPU=0
FWD_CPU=1
SAMPLES="$OUT/samples$SUFFIX.tsv"
L4_PORT=9
CRR_PORT=8000
RR_PORT=7000
IPERF_PORT=5201
# The generator's sources and the client: what the backend must see.
CLIENT_NET=203.0.113.0/24
# The generator's clients: 100 addresses from here (times 100 ports).
GEN_CLIENTS=203.0.113.100
# The pps windows' offered rate (0: flood); learning and ct_scale flood.
GEN_PPS=${BENCH_GEN_PPS:-0}
# The loss-free search after each pps window (docs/bench.md "Loss-free pps"):
# TRIALS paced trials of TRIAL_SECS, a trial passing with less than
# MAX_LOSS_PCT of its frames lost (counted exactly, sent against received).
# (SEARCH_TRIALS and TRIAL_SECS: above, with the quick run's.)
# Off by default: on the 2-core VM even the quiet machine loses 0.1-1.5% of
# the frames at half the forwarder's rate (session 11's run, docs/bench.md
# "Loss-free pps"), so a < 0.1% search finds no rate for most windows.
SEARCH=${BENCH_SEARCH:-0}
MAX_LOSS_PCT=${BENCH_LOSS_PCT:-0.1}

say() { echo "bench: $*" >&2; }

# sample WORKLOAD CONFIG METRIC VALUE: one measurement, aggregated by
# report.py, with its round (empty outside the rounds).
sample() { [ -n "${4:-}" ] && printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "${round:-}" >>"$SAMPLES"; }

# fail WHAT: a configuration did not do its job in a run; no figure is
# recorded for it, the run goes on and exits 1 at the end.
fail() {
	echo "bench: FAIL $*"
	printf '%s\n' "$*" >>"$LAB_DIR/fails"
	sample failed "${1%% *}" reason "$*"
}

# field NAME TEXT: the value of NAME=VALUE in a tool's output line.
field() { awk -v n="$1" '{for (i = 1; i <= NF; i++) if (index($i, n "=") == 1) print substr($i, length(n) + 2)}' <<<"$2"; }

mac_of() { "$1" ip link show "$2" | awk '/link\/ether/ {print $2}'; }

# The kthreads of the receiving front device's threaded NAPI (f0; the
# tunnel's in the reply direction): pinned to FWD_CPU so that every
# configuration forwards on one known core. Their names (napi/DEV-ID, cut
# to 15 characters) are global; the ones that appeared since $2 are ours.
napi_comm() { printf %.15s "napi/$1-"; }
napi_threads() { ps -eo pid=,comm= | awk -v p="$(napi_comm "$1")" 'index($2, p) == 1 {print $1}' | sort; }
FWD_PID=""
# CPU time (ns) of the forwarding: the f0 kthread and the forwarding CPU's
# ksoftirqd. Without IRQ time accounting the softirqs (the tunnel's receive)
# are charged to whichever of them ran them; ksoftirqd also runs the
# softirqs of other work on that CPU (a small error on a shared machine).
fwd_ns() {
	local pid ns sum=0
	for pid in "$FWD_PID" "$(pgrep -x "ksoftirqd/$FWD_CPU")"; do
		[ -r "/proc/${pid:-none}/schedstat" ] && read -r ns _ <"/proc/$pid/schedstat" && sum=$((sum + ns))
	done
	echo "$sum"
}
pin_front_napi() { # DEV threads-before-file
	local pid pinned=0
	ip netns exec "$NS_FRONT" sh -c "echo 1 >/sys/class/net/$1/threaded"
	sleep 0.2
	for pid in $(napi_threads "$1" | comm -13 "$2" -); do
		taskset -pc "$FWD_CPU" "$pid" >/dev/null && pinned=$((pinned + 1)) FWD_PID=$pid
	done
	[ "$pinned" -gt 0 ] || say "warning: no threaded NAPI kthread found for $1; forwarding is not pinned"
}

# Every configuration gets the same bare XDP program on f0 (the generator's
# frames reach a veth only through an XDP program), pinned NAPI included.
front_xdp_pass() {
	local before="$LAB_DIR/napi-before"
	napi_threads f0 >"$before"
	front "$RBBENCH" xdp f0 pass && pin_front_napi f0 "$before"
}

# ---- configurations: cfg_up_NAME / cfg_down_NAME and the address the
# client talks to. Adding one is adding these three. ----
dst_of() { if [ "$1" = route ]; then echo "$BACK_TUN"; else echo "$FRONT_PUB"; fi; }

cfg_up_route() {
	client ip route add "$BACK_TUN/32" via "$FRONT_PUB"
	back ip route add 203.0.113.0/24 via "$FRONT_TUN" dev "$TUN_BACK"
}
cfg_down_route() {
	client ip route del "$BACK_TUN/32" via "$FRONT_PUB"
	back ip route del 203.0.113.0/24 via "$FRONT_TUN" dev "$TUN_BACK"
}

# The seed's front and back scripts (../shared/seed/SUMMARY.md), faithfully.
cfg_up_recipe() {
	front iptables-nft -t nat -A PREROUTING -i f0 -p tcp --dport 22 -j RETURN &&
		front iptables-nft -t nat -A PREROUTING -i f0 -j DNAT --to-destination "$BACK_TUN" &&
		front iptables-nft -A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT &&
		front iptables-nft -A FORWARD -d "$BACK_TUN" -j ACCEPT &&
		front iptables-nft -t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN \
			-j TCPMSS --clamp-mss-to-pmtu &&
		back ip route replace default via "$FRONT_TUN" dev "$TUN_BACK" table 100 &&
		back ip rule add fwmark 0x1 table 100 &&
		back iptables-nft -t mangle -A PREROUTING -i "$TUN_BACK" -j CONNMARK --set-mark 0x1 &&
		back iptables-nft -t mangle -A OUTPUT -j CONNMARK --restore-mark &&
		back iptables-nft -t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN \
			-j TCPMSS --clamp-mss-to-pmtu &&
		for k in default all "$TUN_BACK"; do back sysctl -qw "net.ipv4.conf.$k.rp_filter=2" || return 1; done
}
cfg_down_recipe() {
	local k
	# Only the lab's own front and back: the sink keeps its nft counter.
	front nft flush ruleset
	back nft flush ruleset
	back ip rule del fwmark 0x1 table 100
	back ip route flush table 100
	for k in default all "$TUN_BACK"; do back sysctl -qw "net.ipv4.conf.$k.rp_filter=0"; done
}

# relaybpf_up FRONT_OPTIONS...: the front with its backends (and more), the back.
relaybpf_up() {
	front "$RELAYBPF" attach --role front --dev f0 "$@" >/dev/null &&
		back "$RELAYBPF" attach --role back --dev "$TUN_BACK" --front "$FRONT_TUN" >/dev/null
}
cfg_up_relaybpf-tc() { relaybpf_up --backend "$BACK_TUN"; }
cfg_down_relaybpf-tc() {
	front "$RELAYBPF" detach >/dev/null
	back "$RELAYBPF" detach >/dev/null
}

# relaybpf's XDP datapath replaces the bench's pass program on f0; the
# client sends with full checksums, as a wire delivers.
relaybpf_xdp_up() { # FRONT_OPTIONS...
	front "$RBBENCH" xdp f0 off
	napi_threads f0 >"$LAB_DIR/napi-before"
	client ethtool -K c0 tx off >/dev/null
	relaybpf_up "$@" --xdp-mode native && pin_front_napi f0 "$LAB_DIR/napi-before"
}
cfg_up_relaybpf-xdp() { relaybpf_xdp_up --backend "$BACK_TUN"; }
cfg_down_relaybpf-xdp() {
	front "$RELAYBPF" detach >/dev/null
	back "$RELAYBPF" detach >/dev/null
	client ethtool -K c0 tx on >/dev/null
	front_xdp_pass
}

# A service of the bench's pps port spread over two backends (Maglev), both
# behind the tunnel: the back's tunnel address and a second address of the
# back (BACK_SVC4, on its lo), routed through the first. The receiver takes
# both; against the default service with one backend (issue 16).
SVC2=(--service "bench=udp:$L4_PORT,tcp:$L4_PORT" --backend "bench=$BACK_TUN" --backend "bench=$BACK_SVC4")
svc2_addr() { # add|del
	back ip addr "$1" "$BACK_SVC4/32" dev lo &&
		front ip route "$1" "$BACK_SVC4/32" via "$BACK_TUN" dev "$TUN_FRONT"
}
is_svc2() { [ "${1%-svc2}" != "$1" ]; }
# WireGuard carries only the addresses of a peer's allowed-ips (lib.sh: the
# back's tunnel address).
svc2_tunnel() { [ "$LAB_TUNNEL" != wg ] || { echo "the 2-backend services need a tunnel that carries a second backend address (not wg)"; return 1; }; }
cfg_up_relaybpf-tc-svc2() { svc2_tunnel && svc2_addr add && relaybpf_up "${SVC2[@]}"; }
cfg_down_relaybpf-tc-svc2() { cfg_down_relaybpf-tc; svc2_addr del; }
cfg_up_relaybpf-xdp-svc2() { svc2_tunnel && svc2_addr add && relaybpf_xdp_up "${SVC2[@]}"; }
cfg_down_relaybpf-xdp-svc2() { cfg_down_relaybpf-xdp; svc2_addr del; }

# Redirects Ethernet frames unchanged: an L2 tunnel only.
cfg_up_ceiling() {
	[ "$LAB_TUNNEL" != wg ] || { echo "the ceiling needs an L2 tunnel (veth, vxlan)"; return 1; }
	front "$RBBENCH" xdp f0 "fwd:$TUN_FRONT"
}
cfg_down_ceiling() { front "$RBBENCH" xdp f0 pass; }

# The same redirect on TC ingress of f0 (after XDP_PASS built the skb): the
# most any TC program, relaybpf-tc included, can forward on this core.
cfg_up_tc-ceiling() {
	[ "$LAB_TUNNEL" != wg ] || { echo "the tc-ceiling needs an L2 tunnel (veth, vxlan)"; return 1; }
	front "$RBBENCH" tc f0 "fwd:$TUN_FRONT"
}
cfg_down_tc-ceiling() { front "$RBBENCH" tc f0 off; }

# The reply direction's bound: the same TC redirect on ingress of the
# front's tunnel device (relay_front_rev's hook) out of f0 to the client.
cfg_up_rev-ceiling() {
	[ "$LAB_TUNNEL" = veth ] || { echo "the reply direction needs the veth tunnel"; return 1; }
	front "$RBBENCH" tc "$TUN_FRONT" fwd:f0
}
cfg_down_rev-ceiling() { front "$RBBENCH" tc "$TUN_FRONT" off; }
# The ceilings forward the generator's frames as they are, nothing else.
is_ceiling() { [ "$1" = ceiling ] || [ "$1" = tc-ceiling ] || [ "$1" = rev-ceiling ]; }
# What each configuration runs: the ceilings and the 2-backend services
# only the pps workloads (the servers answer on the back's tunnel address),
# rev-ceiling only the reply direction's, the 2-backend services only the
# client's direction (their replies are relaybpf's, as with one backend).
# The reply direction's generator redirects Ethernet frames out of the
# backend's tunnel device: the veth tunnel only.
runs_fwd() { [ "$1" != rev-ceiling ]; }
runs_rev() { [ "$LAB_TUNNEL" = veth ] && { [ "$1" = rev-ceiling ] || { ! is_ceiling "$1" && ! is_svc2 "$1"; }; }; }
runs_sockets() { ! is_ceiling "$1" && ! is_svc2 "$1"; }


# ---- proof that a configuration does its job ----

# evidence CONFIG [WORKLOAD]: a counter of the configuration's own datapath
# that every packet it forwards (in the workload's direction) increments.
# route and the ceilings have none: the receiver's address check is their
# proof.
relay_counter() { front "$RELAYBPF" stats | awk -v n="$1" '$1 == n {v = $2} END {print v + 0}'; }
is_rev() { [ "${1#*_rev_}" != "$1" ]; }
evidence() {
	case $1 in
	recipe) front iptables-nft -L FORWARD -v -x -n | awk 'NR > 2 {s += $1} END {print s + 0}' ;;
	# Replies take relay_front_rev (TC) whatever the client's path.
	relaybpf-*) if is_rev "${2:-}"; then relay_counter returned_packets; else
		case $1 in
		relaybpf-tc*) relay_counter forwarded_packets ;;
		# The fast path itself, not the TC program behind it.
		relaybpf-xdp*) relay_counter xdp_forwarded ;;
		esac
	fi ;;
	*) echo 0 ;;
	esac
}
has_evidence() { [ "$1" != route ] && ! is_ceiling "$1"; }
has_relaybpf() { [ "${1#relaybpf}" != "$1" ]; }
# counter_deltas BEFORE_JSON <AFTER_JSON: "name=+N ..." for the front's counters that moved.
counter_deltas() {
	python3 -c 'import json, sys
a, b = json.loads(sys.argv[1]).get("front", {}), json.load(sys.stdin).get("front", {})
print(" ".join(f"{k}=+{v - a.get(k, 0)}" for k, v in b.items()
               if isinstance(v, int) and k != "conntrack_max" and v != a.get(k, 0)))' "$1"
}

# backend_deltas BEFORE_JSON <AFTER_JSON: "ADDR=+N ..." packets each backend
# of the service "bench" got (relaybpf stats --json, front.services).
backend_deltas() {
	python3 -c 'import json, sys
get = lambda s: s.get("front", {}).get("services", {}).get("bench", {}).get("backends", {})
n = lambda b: b.get("packets_to_backend", 0)
a, b = get(json.loads(sys.argv[1])), get(json.load(sys.stdin))
print(" ".join(f"{k}=+{n(v) - n(a.get(k, {}))}" for k, v in b.items()))' "$1"
}

# check_grew WORKLOAD CONFIG BEFORE N: the configuration's counter grew by
# at least 90% of N (packets the receiver got, round trips, connections)
# since BEFORE. Not 100%: relaybpf-xdp's first packet of a flow takes TC.
check_grew() {
	local now min=$(($4 * 9 / 10 + 1))
	has_evidence "$2" || return 0
	now=$(evidence "$2" "$1")
	[ "$((now - $3))" -ge "$min" ] && return 0
	fail "$2 $1: its datapath counter grew by $((now - $3)), expected >= $min: not forwarded by $2"
	return 1
}

# check_no_tx_drops CONFIG WORKLOAD N: a ceiling is a bound only if
# everything it forwarded reached the receiver: frames it redirected that
# the tunnel's peer did not take (its ring full: the receiver's NAPI
# starved on the forwarding CPU) cost the forwarder their work and are
# not counted, and the figure is the receiver's drain rate. The relaying
# configurations' drops are printed with each window (tx_dropped=).
check_no_tx_drops() {
	is_ceiling "$1" && [ "$3" != 0 ] || return 0
	fail "$1 $2: $3 frames dropped on their way into the receiver (tx_drops): not the hook's bound"
	return 1
}

# The address a forwarded frame arrives with: the backend's (either of the
# two), but for the ceiling, which forwards frames unchanged.
rx_daddr() {
	if is_ceiling "$1"; then echo "$FRONT_PUB"
	elif is_svc2 "$1"; then echo "$BACK_TUN,$BACK_SVC4"
	else echo "$BACK_TUN"; fi
}
# The source a reply arrives at the client with: the front's public address,
# but where nothing translates (plain routing, the bare redirect).
rx_rev_saddr() { if [ "$1" = route ] || is_ceiling "$1"; then echo "$BACK_TUN"; else echo "$FRONT_PUB"; fi; }

# ---- workloads ----

# flow_shape FLOWS: the generator's client addresses and ports for FLOWS flows.
flow_shape() { if [ "$1" -le 100 ]; then echo "$1 1"; else echo "100 $(($1 / 100))"; fi; }

# The front's tunnel device receives the generator's frames (redirected out
# of the backend's) only in NAPI mode: the bench's pass program there for a
# reply window, its NAPI threaded and pinned to FWD_CPU as f0's is the other
# way. Only for the window: an XDP program on a veth takes GSO from its peer
# (the backend's TCP would change).
rev_napi_up() {
	napi_threads "$TUN_FRONT" >"$LAB_DIR/napi-before-rev"
	front "$RBBENCH" xdp "$TUN_FRONT" pass && pin_front_napi "$TUN_FRONT" "$LAB_DIR/napi-before-rev"
}

# tx_drops NS-FUNC DEV: the frames DEV dropped on their way to its veth
# peer (`ip -s link` tx dropped): skbs, and XDP frames redirected into it
# that the peer's ring did not take (the kernel adds these, ethtool's
# tx_queue_N_xdp_xmit_errors, to tx dropped). The device a forwarder sends
# into: the front's tunnel device, f0 for the replies. A bare redirect that
# loses frames there measures the receiver's drain rate, not the hook's:
# no bound (check_no_tx_drops).
tx_drops() {
	"$1" ip -s -j link show dev "$2" | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["stats64"]["tx"]["dropped"])'
}

# perf_top PATTERN <REPORT: the top 40 symbols of the threads whose
# PID:COMM matches PATTERN, as shares of their samples.
perf_top() {
	awk -v k="$1" '$1 ~ /%$/ && $2 ~ k {p = $1; sub("%", "", p); t += p; $1 = ""; n[++i] = $0; v[i] = p}
		END {for (j = 1; j <= i && j <= 40; j++) printf "%6.2f%%%s\n", 100 * v[j] / t, n[j]}'
}

# perf_start DELAY SECONDS: with BENCH_PERF=1, in round 1, perf records
# both CPUs (all processes; cpu-clock: no hardware counters here) with
# call graphs from DELAY seconds on for SECONDS, in the background: sets
# the caller's $perfpid (empty: not recording).
perf_start() {
	perfpid=""
	[ "${BENCH_PERF:-0}" = 1 ] && [ "${round:-1}" = 1 ] || return 0
	(sleep "$1"; exec perf record -q -g -e cpu-clock -C "$GEN_CPU,$FWD_CPU" -o "$LAB_DIR/perf.data" -- sleep "$2") \
		>/dev/null 2>&1 &
	perfpid=$!
}
# perf_stop NAME: after perf_start, waits for the recording, keeps it as
# build/bench/perf-NAME.data (perf report -i, perf script) and writes its
# report by thread and symbol to $LAB_DIR/perf.txt (perf_top's input);
# false when nothing was recorded.
perf_stop() {
	[ -n "$perfpid" ] || return 1
	wait "$perfpid"
	mv "$LAB_DIR/perf.data" "$OUT/perf$SUFFIX-$1.data" || return 1
	perf report -i "$OUT/perf$SUFFIX-$1.data" --no-children --sort pid,sym -g none --stdio 2>/dev/null >"$LAB_DIR/perf.txt"
}

# searched CONFIG PROG_IDS|-: a pps window of CONFIG is followed by the
# loss-free search (BENCH_SEARCH): not plain routing, in no target, nor the
# window of the BPF statistics (prog_live_ns).
searched() { [ "$SEARCH" = 1 ] && [ "$1" != route ] && [ "$2" = - ]; }

# pps_window CONFIG PROTO FLOWS [PROG_IDS|-] [rev]: one window of the
# generator saturating the front and the receiver counting, then where
# searched, the loss-free search from the window's figure S: trials
# between S/2 and 2S (rbbench search; $search_out, its last line the
# result); sets $out
# (receiver; with PROG_IDS also their mean run time), $gen (generator),
# $rx_what (what the receiver expected where) and $tx_dropped (tx_drops of
# the device the front sends into, over the window). Client to backend: the
# generator on c0, the receiver on the backend's tunnel device. rev: the
# backend's replies to the clients, the generator on the backend's tunnel
# device, the receiver on c0.
pps_window() {
	local cfg=$1 proto=$2 flows=$3 ids=${4:--} rev=${5:-} naddrs nports
	local rx_ns=$NS_BACK rx_dev=$TUN_BACK rx_src=$CLIENT_NET rx_dst tx_ns=$NS_CLIENT tx_dev=c0
	local mode=$proto smac=$CLIENT_MAC dmac=$FRONT_MAC peer w=${proto}64_pps_$flows fwd_pid=$FWD_PID
	local out_dev=$TUN_FRONT drops0
	read -r naddrs nports <<<"$(flow_shape "$flows")"
	rx_dst=$(rx_daddr "$cfg") peer=$(dst_of "$cfg")
	if [ -n "$rev" ]; then
		rx_ns=$NS_CLIENT rx_dev=c0 rx_src=$(rx_rev_saddr "$cfg") rx_dst=$CLIENT_NET
		tx_ns=$NS_BACK tx_dev=$TUN_BACK mode=$proto-rev smac=$BACK_TUN_MAC dmac=$FRONT_TUN_MAC
		peer=$BACK_TUN w=${proto}64_pps_rev_$flows out_dev=f0
		rev_napi_up || say "warning: no XDP program on $TUN_FRONT: the generator's frames will be lost"
	fi
	rx_what="from $rx_src to $rx_dst on $rx_dev"
	drops0=$(tx_drops front "$out_dev")
	taskset -c "$GEN_CPU" nsenter --net="/run/netns/$rx_ns" "$RBBENCH" count "$rx_dev" \
		"$WARMUP" "$SECS" "$rx_src" "$rx_dst" "$ids" >"$LAB_DIR/count.out" &
	local cpid=$! perfpid=""
	[ "$ids" = - ] && perf_start "$WARMUP" "$SECS"
	sleep 0.3
	local t0 f0
	t0=$(date +%s%N) f0=$(fwd_ns)
	gen=$(taskset -c "$GEN_CPU" nsenter --net="/run/netns/$tx_ns" "$RBBENCH" gen "$tx_dev" "$mode" \
		"$smac" "$dmac" "$GEN_CLIENTS" "$naddrs" 10000 "$nports" "$peer" \
		"$L4_PORT" "$((WARMUP + SECS + 1))" "$GEN_PPS")
	# The forwarder's share of its CPU while the generator ran: the rest
	# went to other processes (a shared machine).
	fwd_pct=$((($(fwd_ns) - f0) * 100 / ($(date +%s%N) - t0)))
	wait "$cpid"
	tx_dropped=$(($(tx_drops front "$out_dev") - drops0))
	if perf_stop "$w-$cfg"; then
		# The forwarder's symbols only, by thread id: other processes
		# share the CPU, and another lab's f0 has a NAPI thread of the
		# same name. The generator's too (perf-gen-...): it returns the
		# frames f0 could not take to the page pool the forwarder
		# returns the delivered ones to. Each as a share of its samples.
		perf_top "^(${FWD_PID:-none}|$(pgrep -x "ksoftirqd/$FWD_CPU")):" <"$LAB_DIR/perf.txt" >"$OUT/perf$SUFFIX-$w-$cfg.txt"
		perf_top ":rbbench$" <"$LAB_DIR/perf.txt" >"$OUT/perf$SUFFIX-gen-$w-$cfg.txt"
	fi
	out=$(cat "$LAB_DIR/count.out")
	search_out=""
	if searched "$cfg" "$ids"; then
		local s lo hi
		s=$(field pps "$out")
		lo=$((${s:-0} / 2)) hi=$((${s:-0} * 2))
		search_t0=$(date +%s%N)
		# A search that stopped on an error says so in its last line
		# (no trials=): search_record FAILs it.
		[ "$lo" -gt 0 ] && { search_out=$(taskset -c "$GEN_CPU" nsenter --net="/run/netns/$tx_ns" "$RBBENCH" search \
			"/run/netns/$rx_ns" "$rx_dev" "$rx_src" "$rx_dst" "$tx_dev" "$mode" "$smac" "$dmac" "$GEN_CLIENTS" \
			"$naddrs" 10000 "$nports" "$peer" "$L4_PORT" "$lo" "$hi" "$SEARCH_TRIALS" "$TRIAL_SECS" "$MAX_LOSS_PCT" \
			"${FWD_PID:-0},$(pgrep -x "ksoftirqd/$FWD_CPU")") || search_out="$search_out
rbbench search exited with status $?"; }
		search_t0=$((($(date +%s%N) - search_t0) / 10000000))
	fi
	if [ -n "$rev" ]; then
		front "$RBBENCH" xdp "$TUN_FRONT" off
		FWD_PID=$fwd_pid
	fi
}

# rev_learn CONFIG PROTO FLOWS: the front learns the generator's client
# flows before the backend replies to them, as it would from the clients'
# requests: generator seconds from the client (each flow offered hundreds
# of packets a second) that the backend drops unanswered (its ICMP errors
# would be replies too), until the front holds them all or for 5 s: the
# front takes a fraction of what is offered, in bursts of consecutive
# frames of the rotation, and a second can miss a few flows. Only where a
# conntrack translates the replies (the recipe, relaybpf); the front must
# then hold at least FLOWS flows of PROTO (the recipe: its conntrack's to
# the public address and port; relaybpf: its `conntrack` listing, as the
# unreplied flows are in relay_ct_new, which stats' conntrack_entries does
# not count).
rev_learn() {
	local cfg=$1 proto=$2 flows=$3 naddrs nports held t
	[ "$cfg" = recipe ] || has_relaybpf "$cfg" || return 0
	read -r naddrs nports <<<"$(flow_shape "$flows")"
	back nft add table ip bench_learn &&
		back nft add chain ip bench_learn pre '{ type filter hook prerouting priority -300; }' &&
		back nft add rule ip bench_learn pre ip saddr "$CLIENT_NET" drop ||
		{ fail "$cfg ${proto}64_pps_rev_$flows: the backend's drop rule for learning"; return 1; }
	for t in 1 2 3 4 5; do
		taskset -c "$GEN_CPU" nsenter --net="/run/netns/$NS_CLIENT" "$RBBENCH" gen c0 "$proto" "$CLIENT_MAC" \
			"$FRONT_MAC" "$GEN_CLIENTS" "$naddrs" 10000 "$nports" "$FRONT_PUB" "$L4_PORT" 1 0 >/dev/null
		if [ "$cfg" = recipe ]; then
			held=$(front awk -v p="$proto" -v d=" dst=$FRONT_PUB " -v dp=" dport=$L4_PORT " \
				'$3 == p && index($0, d) && index($0, dp) {n++} END {print n + 0}' /proc/net/nf_conntrack)
		else
			held=$(front "$RELAYBPF" conntrack 2>/dev/null | grep -c "^$proto ")
		fi
		[ "${held:-0}" -ge "$flows" ] && break
	done
	back nft delete table ip bench_learn
	say "  ${proto}64_pps_rev_$flows $cfg: the front holds $held flows after learning for ${t}s"
	[ "${held:-0}" -ge "$flows" ] && return 0
	fail "$cfg ${proto}64_pps_rev_$flows: the front holds ${held:-no} flows after learning $flows"
	return 1
}

# pps_run CONFIG PROTO FLOWS [rev]: forwarded 64-byte packets per second
# counted at the receiver while the generator saturates the front (client
# to backend; rev: the backend's replies to the clients).
pps_run() {
	local cfg=$1 proto=$2 flows=$3 rev=${4:-} out gen fwd_pct rx_what tx_dropped ev0 st0="" st1 search_out search_t0
	local w=${proto}64_pps_${rev:+rev_}$flows
	if [ -n "$rev" ]; then rev_learn "$cfg" "$proto" "$flows" || return; fi
	ev0=$(evidence "$cfg" "$w")
	has_relaybpf "$cfg" && st0=$(front "$RELAYBPF" stats --json)
	pps_window "$cfg" "$proto" "$flows" - "$rev"
	# Where relaybpf's packets went: the counters that moved.
	if [ -n "$st0" ]; then
		st1=$(front "$RELAYBPF" stats --json)
		say "  $cfg counters: $(counter_deltas "$st0" <<<"$st1")"
	fi
	say "  $w $cfg: $out fwd_thread_pct=$fwd_pct tx_dropped=$tx_dropped ($gen)"
	local pps busy rx wrong checked bad
	pps=$(field pps "$out")
	busy=$(field "busy_cpu$FWD_CPU" "$out")
	rx=$(field received "$out")
	wrong=$(field wrong_addr "$out")
	checked=$(field csum_checked "$out")
	bad=$(field bad_csum "$out")
	if [ "${rx:-0}" -lt 1000 ]; then
		fail "$cfg $w: the receiver got ${rx:-no} frames $rx_what (and $wrong others)"
		return
	fi
	if [ "$wrong" != 0 ] || [ "$bad" != 0 ] || [ "$checked" = 0 ]; then
		fail "$cfg $w: $wrong frames with other addresses, $bad of $checked sampled frames with a wrong checksum"
		return
	fi
	check_grew "$w" "$cfg" "$ev0" "$rx" || return
	check_no_tx_drops "$cfg" "$w" "$tx_dropped" || return
	is_svc2 "$cfg" && { svc2_split "$cfg" "$w" "$flows" "$st0" "$st1" || return; }
	sample "$w" "$cfg" pps "$pps"
	sample "$w" "$cfg" fwd_cpu_busy_pct "${busy:-0}"
	sample "$w" "$cfg" fwd_thread_pct "$fwd_pct"
	# Over WireGuard the forwarding is mostly wireguard-go's threads: no per-core figure.
	[ "$LAB_TUNNEL" != wg ] && [ "$fwd_pct" -gt 0 ] && [ "$fwd_pct" -le 100 ] && sample "$w" "$cfg" pps_per_fwd_core "$((pps * 100 / fwd_pct))"
	# Offered (over the generator's whole run, a steady rate when paced)
	# against received in the window: the share the path lost.
	local offered
	offered=$(field gen_pps "$gen")
	sample "$w" "$cfg" gen_pps "$offered"
	[ "${offered:-0}" -gt 0 ] && sample "$w" "$cfg" loss_pct "$(awk -v o="$offered" -v r="$pps" 'BEGIN {printf "%.2f", 100 * (o - r) / o}')"
	[ -n "$search_out" ] && search_record "$cfg" "$w" "$search_out"
}

# search_record CONFIG WORKLOAD OUTPUT: the loss-free search's trials in the
# log, its result in the samples: lossfree_pps (received over the trial's
# time, loss under MAX_LOSS_PCT), the rate offered (achieved) and asked,
# the loss, whether the generator fell 5% or more short of the rate asked
# (then the figure is the generator's), or lossfree_below_pps when no
# trial passed (the rate is under that). The receiver's address and
# checksum checks hold for the trials as for the window.
search_record() {
	local res trials
	res=$(tail -1 <<<"$3")
	trials=$(sed '$d' <<<"$3" | awk '{for (i = 1; i <= NF; i++) {split($i, a, "="); v[a[1]] = a[2]}
		printf "%s%.3fM->%.3fM (%s%%, fwd %s%%)", (NR > 1 ? ", " : ""), v["asked_pps"] / 1e6, v["gen_pps"] / 1e6,
			v["loss_pct"], v["fwd_thread_pct"]}')
	say "  $2 $1 loss-free search (< $MAX_LOSS_PCT% lost, $((search_t0 / 100)).$(printf %02d $((search_t0 % 100)))s):" \
		"$res; trials (asked->offered, lost, forwarder thread) $trials"
	if [ -z "$(field trials "$res")" ]; then
		fail "$1 $2 search: rbbench search did not finish ($res)"
		return
	fi
	if [ "$(field wrong_addr "$res")" != 0 ] || [ "$(field bad_csum "$res")" != 0 ]; then
		fail "$1 $2 search: $(field wrong_addr "$res") frames with other addresses, $(field bad_csum "$res") of" \
			"$(field csum_checked "$res") sampled frames with a wrong checksum"
		return
	fi
	local k
	for k in lossfree_pps offered_pps loss_pct asked_pps gen_short below_pps trials; do
		sample "$2" "$1" "lossfree_${k#lossfree_}" "$(field "$k" "$res")"
	done
	sample "$2" "$1" lossfree_max_loss_pct "$MAX_LOSS_PCT"
	# Per forwarding core, as the window's pps_per_fwd_core: below saturation
	# the forwarder's thread runs part of the time, and the rate per core it
	# ran is its cost per packet (session 10's paced 0.83 of the ceiling).
	local v f
	v=$(field lossfree_pps "$res") f=$(field fwd_thread_pct "$res")
	[ -n "$v" ] && sample "$2" "$1" lossfree_fwd_thread_pct "$f"
	[ -n "$v" ] && [ "$LAB_TUNNEL" != wg ] && [ "${f:-0}" -gt 0 ] && [ "$f" -le 100 ] &&
		sample "$2" "$1" lossfree_pps_per_fwd_core "$((v * 100 / f))"
}

# svc2_split CONFIG WORKLOAD FLOWS BEFORE AFTER: the packets each backend of
# the 2-backend service got (relaybpf's per-backend counters); with more
# than one flow, both must have had a real share (at least a quarter: Maglev
# splits 10,000 flows about evenly).
svc2_split() {
	local split b v n=0 sum=0 low=0
	split=$(backend_deltas "$4" <<<"$5")
	say "  $1 backends: $split"
	for b in $split; do
		v=${b#*=+} n=$((n + 1)) sum=$((sum + v))
	done
	[ "$3" -gt 1 ] || return 0
	for b in $split; do
		v=${b#*=+}
		[ $((v * 4)) -ge "$sum" ] || low=1
	done
	[ "$n" = 2 ] && [ "$low" = 0 ] && return 0
	fail "$1 $2: the backends got $split: with $3 flows each of the 2 must get a quarter or more"
	return 1
}

# perf_bulk NAME: a bulk window's profile (perf_stop NAME's): the samples
# of each CPU and command, then the top symbols of all threads, as shares
# of all the samples.
perf_bulk() {
	echo "# samples by CPU and command (perf report --sort cpu,comm)"
	perf report -i "$OUT/perf$SUFFIX-$1.data" --no-children --sort cpu,comm -g none --stdio 2>/dev/null | grep '%'
	echo "# top symbols of all threads (PID:COMM, symbol)"
	perf_top . <"$LAB_DIR/perf.txt"
}

# tcp_bulk_up, tcp_bulk_down: one stream; tcp_bulk_down_8: 8 in parallel.
tcp_bulk_run() {
	local cfg=$1 dir bps ev0 rev streams perfpid
	for dir in up down down_8; do
		ev0=$(evidence "$cfg")
		rev="" streams=1
		[ "$dir" = up ] || rev=-R
		[ "$dir" = down_8 ] && streams=8
		# BENCH_PERF: the whole machine from the window's second second
		# on (the streams' start left out), every thread: both iperf3
		# ends, the forwarding softirqs and whoever else ran.
		perf_start 1 "$((SECS > 2 ? SECS - 1 : 1))"
		bps=$(client timeout $((SECS + 10)) iperf3 -c "$(dst_of "$cfg")" -p "$IPERF_PORT" -t "$SECS" \
			-P "$streams" ${rev:+"$rev"} -J 2>/dev/null |
			python3 -c 'import json,sys; print(int(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]))' 2>/dev/null)
		perf_stop "tcp_bulk_$dir-$cfg" && perf_bulk "tcp_bulk_$dir-$cfg" >"$OUT/perf$SUFFIX-tcp_bulk_$dir-$cfg.txt"
		say "  tcp_bulk $dir $cfg: ${bps:-failed} bit/s"
		if [ "${bps:-0}" -lt 1000000 ]; then
			fail "$cfg tcp_bulk_$dir: iperf3 moved ${bps:-nothing} bit/s"
			continue
		fi
		# Some 1000 packets: GSO/GRO and delayed ACKs make the count loose.
		check_grew "tcp_bulk_$dir" "$cfg" "$ev0" 1000 && sample "tcp_bulk_$dir" "$cfg" bps "$bps"
	done
}

# The servers answer only the client's network: a relay that hid the
# client's address (SNAT) gets no reply and fails here.
tcp_crr_run() {
	local cfg=$1 out ok failed ev0
	ev0=$(evidence "$cfg")
	out=$(client "$RBBENCH" crr "$(dst_of "$cfg")" "$CRR_PORT" 4 "$SECS")
	say "  tcp_crr $cfg: $out"
	ok=$(field "done" "$out")
	failed=$(field failed "$out")
	# A connection fails after a 1 s timeout: a few on a loaded machine.
	if [ "${ok:-0}" = 0 ] || [ "$((failed * 20))" -gt "$ok" ]; then
		fail "$cfg tcp_crr: ${ok:-0} connections done, ${failed:-?} failed (more than 5%)"
		return
	fi
	check_grew tcp_crr "$cfg" "$ev0" "$ok" && sample tcp_crr "$cfg" cps "$(field cps "$out")"
}

udp_rr_run() {
	local cfg=$1 out n lost ev0
	ev0=$(evidence "$cfg")
	out=$(client "$RBBENCH" udp-rr "$(dst_of "$cfg")" "$RR_PORT" "$SECS" 2>&1)
	say "  udp_rr $cfg: $out"
	n=$(field n "$out")
	lost=$(field lost "$out")
	# Fewer than 100 round trips in a window: replies stopped (the last
	# timeout may not be counted as lost when the window ends in it).
	if [ "${n:-0}" -lt 100 ] || [ "$((lost * 20))" -gt "$n" ]; then
		fail "$cfg udp_rr: ${n:-0} round trips, ${lost:-?} lost (fewer than 100 or more than 5% lost)"
		return
	fi
	check_grew udp_rr "$cfg" "$ev0" "$n" || return
	sample udp_rr_p50 "$cfg" us "$(field p50_us "$out")"
	sample udp_rr_p99 "$cfg" us "$(field p99_us "$out")"
}

# ---- cost of each relaybpf program: test_run, repeat 1 on fresh frames ----

# frame_hex KIND: the frames the programs see, as hex (checksums computed),
# with the lab's addresses and link addresses: one flow, the client's
# request and the backend's reply.
frame_hex() {
	python3 - "$1" "$CLIENT_MAC" "$FRONT_MAC" "$BACK_TUN_MAC" "$FRONT_TUN_MAC" \
		"$CLIENT_IP" "$FRONT_PUB" "$BACK_TUN" <<'EOF'
import struct, sys
kind, cmac, fmac, btmac, ftmac, client, public, backend = sys.argv[1:]
def mac(s): return bytes(int(x, 16) for x in s.split(':'))
def ip4(s): return bytes(int(x) for x in s.split('.'))
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
def udp_frame(dmac, smac, src, dst, sport, dport):
    payload = b'\0' * 22
    ulen = 8 + len(payload)
    ph = ip4(src) + ip4(dst) + struct.pack('!BBH', 0, 17, ulen)
    u = struct.pack('!HHHH', sport, dport, ulen, 0) + payload
    uc = csum(ph + u) or 0xffff
    u = u[:6] + struct.pack('!H', uc) + u[8:]
    h = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + ulen, 0, 0, 64, 17, 0, ip4(src), ip4(dst))
    h = h[:10] + struct.pack('!H', csum(h)) + h[12:]
    return mac(dmac) + mac(smac) + b'\x08\x00' + h + u
f = {
    # The client's request to the public address, as it reaches f0.
    'front_in': udp_frame(fmac, cmac, client, public, 10000, 9),
    # The backend's reply, as it reaches the front's tunnel device.
    'front_rev': udp_frame(ftmac, btmac, backend, client, 9, 10000),
    # The request relayed, as it reaches the backend's tunnel device.
    'back_in': udp_frame(btmac, ftmac, client, backend, 10000, 9),
}[kind]
print(f.hex())
EOF
}

tc_prog_id() { # NS-FUNC DEV
	"$1" tc filter show dev "$2" ingress | sed -n 's/.* id \([0-9]*\).*/\1/p' | head -1
}

xdp_prog_id() { front ip link show f0 | sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p'; }

# (nsenter: /sys is still the root namespace's)
ifindex_of() { "$1" ip -o link show dev "$2" | cut -d: -f1; }

# prog_ns_once NS-FUNC DEV|xdp FRAME RUNS: sets $out (rbbench prog-ns, on
# the forwarding CPU, whose per-CPU state the live figures use) and $id. A
# TC program gets the device it is on as the packet's: the programs
# check it (the front's reply path takes only a tunnel in use, the back's
# configuration is per device), and test_run's default is the loopback.
prog_ns_once() {
	local ifx=0
	if [ "$2" = xdp ]; then id=$(xdp_prog_id); else id=$(tc_prog_id "$1" "$2") ifx=$(ifindex_of "$1" "$2"); fi
	out=""
	[ -n "$id" ] && out=$("$1" taskset -c "$FWD_CPU" "$RBBENCH" prog-ns "$id" "$(frame_hex "$3")" "$4" "$ifx")
}

# prog_ns_front: the front programs' per-packet figures in the kernel
# (build/front_ns, tests/bench/front_ns.c, in a namespace of its own, on
# the forwarding CPU): hot, the p10 of ROUNDS test_runs of repeat 250 on
# a replied flow (stable within a few ns from run to run), and cold, the
# mean of the lower 90% of ROUNDS x 50 runs of repeat 1 (each a fresh
# frame, caches as the syscall leaves them). Samples prog_ns PROG hot_ns
# and cold_ns, PROG front_in, front_rev, front_xdp and their IPv6 twins
# (suffix 6); the lab's repeat-1 runs below stay the check of the lab's
# path and back_in's only figure.
prog_ns_front() {
	local rounds=400 out prog fam mode rest base base_objs=() metric figure
	[ "$QUICK" = 1 ] && rounds=40
	if base=$(prog_ns_base_objects); then
		base_objs=("$base/front_public.bpf.o" "$base/front_tunnel.bpf.o" "$base/front_xdp.bpf.o")
	else
		say "  prog_ns: no objects of the base $PROG_NS_BASE (not a git clone, or they do not build): no comparison with it"
	fi
	out=$(taskset -c "$FWD_CPU" "$REPO/build/front_ns" xdp "$rounds" "${base_objs[@]}") ||
		{ fail "prog_ns front_ns: $out"; return; }
	say "  prog_ns front_ns (xdp $rounds${base_objs[*]:+, interleaved with the programs of the base $PROG_NS_BASE}):"
	say "$(grep median <<<"$out" | sed 's/^/    /')"
	# A case of the base's objects has their path after the mode.
	while read -r prog fam mode rest; do
		[ "$fam" = IPv6 ] && fam=6 || fam=""
		metric=${mode}_ns
		[ "${rest#median}" = "$rest" ] && metric=base_$metric
		# hot: the p10; cold: the mean of the lower 90%.
		figure='.* p10 \([0-9]*\),.*'
		[ "$mode" = hot ] || figure='.* 90% \([0-9.]*\),.*'
		sample prog_ns "${prog#relay_}$fam" "$metric" "$(sed -n "s/$figure/\1/p" <<<"$rest")"
	done < <(grep -E '^relay_front_[a-z]+ IPv[46] (hot|cold) ' <<<"$out")
}

# Issue 18's base, whose per-program figures every front program must
# beat (docs/bench.md "Per-program cost, base vs main"): report.py's.
PROG_NS_BASE=$(sed -n 's/^PROG_NS_BASE = "\(.*\)"$/\1/p' "$REPO/bench/report.py")

# prog_ns_base_objects: prints the directory of the base's front objects,
# built once from its own tree (git archive) under build/bench.
prog_ns_base_objects() {
	local dir="$OUT/base-$PROG_NS_BASE"
	if [ ! -s "$dir/build/bpf/front_xdp.bpf.o" ]; then
		rm -rf "$dir" && mkdir -p "$dir" &&
			git -C "$REPO" archive "$PROG_NS_BASE" | tar -x -C "$dir" &&
			make -s -C "$dir" build/bpf/front_public.bpf.o build/bpf/front_tunnel.bpf.o \
				build/bpf/front_xdp.bpf.o >&2 || return 1
	fi
	echo "$dir/build/bpf"
}

# Each program runs in its own namespace (its FIB and socket lookups are
# the lab's) on a packet of one established flow, the path a relayed flow
# takes for most of its packets: the client's first packet (front_in)
# creates it, the backend's first reply (front_rev) moves it among the
# replied flows (relay_ct), then each program is timed on that flow's
# packets. Each must return the verdict of the path it is meant to take
# and leave the packet addressed as that path does (the back: marked):
# otherwise the figure is another path's and the run FAILs. The front's
# counters that moved say which path each run took.
prog_ns_run() {
	local runs=20000 id prog dev fn frame want want_out want_mark out st0
	[ "$QUICK" = 1 ] && runs=2000
	prog_ns_front
	cfg_up_relaybpf-xdp || { fail "prog_ns setup: relaybpf with --xdp-mode native"; cfg_down_relaybpf-xdp; return; }
	out=$(front taskset -c "$FWD_CPU" "$RBBENCH" prog-ns 0 "$(frame_hex front_in)" "$runs" 0)
	sample prog_ns baseline ns "$(field ns "$out")"
	say "  prog_ns baseline (empty TC program): $out"
	st0=$(front "$RELAYBPF" stats --json)
	prog_ns_once front f0 front_in 1 && prog_ns_once front "$TUN_FRONT" front_rev 1
	out=$(front "$RELAYBPF" stats --json | counter_deltas "$st0")
	say "  prog_ns flow set up: front counters $out"
	[ "${out#*conntrack_replied=+1}" != "$out" ] || fail "prog_ns setup: the flow was not established"
	# name, namespace, device, frame, expected verdict (TC_ACT_REDIRECT 7,
	# XDP_REDIRECT 4, TC_ACT_UNSPEC -1 as rbbench prints it, unsigned),
	# frame out (MACs: the front's hop cache writes the backend's into the
	# tunnel; the reply's are the neighbour output's, after the program),
	# mark out (the back marks the packet, --mark's default 0x1, for the
	# stack to route; XDP has none)
	for prog in "front_in front f0 front_in 7 $FRONT_TUN_MAC>$BACK_TUN_MAC,$CLIENT_IP>$BACK_TUN 0" \
		"front_xdp front xdp front_in 4 $FRONT_TUN_MAC>$BACK_TUN_MAC,$CLIENT_IP>$BACK_TUN 0" \
		"front_rev front $TUN_FRONT front_rev 7 $BACK_TUN_MAC>$FRONT_TUN_MAC,$FRONT_PUB>$CLIENT_IP 0" \
		"back_in back $TUN_BACK back_in 4294967295 $FRONT_TUN_MAC>$BACK_TUN_MAC,$CLIENT_IP>$BACK_TUN 0x1"; do
		read -r prog fn dev frame want want_out want_mark <<<"$prog"
		st0=$(front "$RELAYBPF" stats --json)
		prog_ns_once "$fn" "$dev" "$frame" "$runs"
		[ -n "$out" ] || { fail "prog_ns $prog: no program on $dev"; continue; }
		say "  prog_ns $prog (id $id): $out; front counters $(front "$RELAYBPF" stats --json | counter_deltas "$st0")"
		if [ "$(field retval "$out")" != "$want" ] || [ "$(field out "$out")" != "$want_out" ] ||
			[ "$(field mark "$out")" != "$want_mark" ]; then
			fail "prog_ns $prog: verdict $(field retval "$out"), out $(field out "$out"), mark" \
				"$(field mark "$out"); expected $want, $want_out, $want_mark: not the forwarding path"
			continue
		fi
		sample prog_ns "$prog" ns "$(field ns "$out")"
	done
	live_ns relaybpf-xdp front_xdp
	cfg_down_relaybpf-xdp
	cfg_up_relaybpf-tc && live_ns relaybpf-tc front_in
	cfg_down_relaybpf-tc
}

# live_ns CONFIG front_in|front_xdp: the program's mean run time in the
# forwarding path, during a udp64 1-flow window (the kernel's BPF
# statistics: two clock reads per run, so not during the pps figures).
live_ns() {
	# No loss-free search after this window: its figure is the statistics'.
	local id out gen fwd_pct tx_dropped v search_out SEARCH=0
	if [ "$2" = front_xdp ]; then id=$(xdp_prog_id); else id=$(tc_prog_id front f0); fi
	pps_window "$1" udp 1 "$id"
	say "  prog_live_ns $2 ($1): $out"
	v=$(field "prog${id}_ns" "$out")
	[ -n "$v" ] || { fail "prog_live_ns $2: program ${id:-?} did not run in the window"; return; }
	sample prog_live_ns "$2" ns "$v"
	sample prog_live_ns "$2" pps "$(field pps "$out")"
	sample prog_live_ns "$2" fwd_thread_pct "$fwd_pct"
}

# ---- ct_scale: 1M flows through relaybpf's conntrack and through nf_conntrack ----

# ct_map_id NAME: the id of the map NAME (relay_ct, relay_ct_new) of the
# front program on f0.
ct_map_id() {
	local prog map
	prog=$(tc_prog_id front f0)
	for map in $(bpftool prog show id "$prog" 2>/dev/null | sed -n 's/.*map_ids \([0-9,]*\).*/\1/p' | tr , ' '); do
		bpftool map show id "$map" | grep -q "name $1 " && { echo "$map"; return; }
	done
}

# The flows relaybpf's two tables hold, replied (relay_ct) and unreplied
# (relay_ct_new), as `relaybpf conntrack` counts them (stats'
# conntrack_entries counts relay_ct alone).
ct_held() { front "$RELAYBPF" conntrack 2>&1 >/dev/null | sed -n 's/^relaybpf: \([0-9]*\) flow entries shown\.$/\1/p'; }

ct_scale_run() {
	# Offered in slices until the table is full or for CAP seconds: new
	# flows are created at 40-140k/s here, as the other processes allow.
	local flows=1000000 secs=5 cap=40 t before after out id id_new held
	[ "$QUICK" = 1 ] && secs=3 cap=3
	ct_gen() {
		out=$(taskset -c "$GEN_CPU" nsenter --net="/run/netns/$NS_CLIENT" "$RBBENCH" gen c0 tcp \
			"$CLIENT_MAC" "$FRONT_MAC" 203.0.113.100 1000 10000 1000 "$FRONT_PUB" "$L4_PORT" "$secs" 0)
		t=$((t + secs))
	}
	# The backend drops the flows unanswered: its RSTs would close them in
	# both conntracks, and "held" would measure the backend's reply rate.
	back nft add table inet bench_ct &&
		back nft add chain inet bench_ct pre '{ type filter hook prerouting priority -300; }' &&
		back nft add rule inet bench_ct pre ip saddr "$CLIENT_NET" tcp dport "$L4_PORT" drop ||
		fail "ct_scale setup: the backend's drop rule"
	if front "$RELAYBPF" attach --role front --dev f0 --backend "$BACK_TUN" --ct-max "$flows" >/dev/null; then
		# Never replied, the flows stay in relay_ct_new (a quarter of
		# --ct-max, bpf/lib/ct.h): that table is the one they fill.
		local stats mem mem_new entries new_max
		id=$(ct_map_id relay_ct) id_new=$(ct_map_id relay_ct_new)
		new_max=$(bpftool map show id "$id_new" | sed -n 's/.*max_entries \([0-9]*\).*/\1/p')
		t=0
		while :; do
			ct_gen
			held=$(ct_held)
			[ "${held:-0}" -ge "$((new_max * 99 / 100))" ] || [ "$t" -ge "$cap" ] && break
		done
		stats=$(front "$RELAYBPF" stats)
		mem=$(bpftool map show id "$id" | sed -n 's/.*memlock \([0-9]*\)B.*/\1/p')
		mem_new=$(bpftool map show id "$id_new" | sed -n 's/.*memlock \([0-9]*\)B.*/\1/p')
		entries=$(bpftool map show id "$id" | sed -n 's/.*max_entries \([0-9]*\).*/\1/p')
		sample ct_scale relaybpf flows_created "$held"
		sample ct_scale relaybpf new_flows_per_s "$(awk -v s="$t" '/conntrack_new/ {printf "%d", $2 / s}' <<<"$stats")"
		sample ct_scale relaybpf table_max "$new_max"
		# What --ct-max flows cost: both tables, the unreplied one on top.
		sample ct_scale relaybpf bytes_per_flow "$(((mem + mem_new) / entries))"
		sample ct_scale relaybpf seconds "$t"
		say "  ct_scale relaybpf: ${t}s; flows held $held; relay_ct map $id memlock ${mem}B for $entries entries," \
			"relay_ct_new map $id_new memlock ${mem_new}B for $new_max entries; $(tr -s ' \n' ' ' <<<"$stats"); $out"
		[ "$(awk '/^ *forwarded_packets/ {print $2}' <<<"$stats")" -ge "${held:-0}" ] ||
			fail "relaybpf ct_scale: fewer packets forwarded than flows held"
		[ "${held:-0}" -gt 0 ] || fail "relaybpf ct_scale: no flow held"
		front "$RELAYBPF" detach >/dev/null
	fi
	# cfg_down_recipe flushes the backend's ruleset, bench_ct included.
	if cfg_up_recipe; then
		local count max buckets objsize
		before=$(awk '$1 == "nf_conntrack" {print $2}' /proc/slabinfo)
		max=$(cat /proc/sys/net/netfilter/nf_conntrack_max)
		t=0
		while :; do
			ct_gen
			held=$(front cat /proc/sys/net/netfilter/nf_conntrack_count)
			[ "$held" -ge "$((max * 99 / 100))" ] || [ "$t" -ge "$cap" ] && break
		done
		after=$(awk '$1 == "nf_conntrack" {print $2, $4}' /proc/slabinfo)
		count=$held
		buckets=$(cat /proc/sys/net/netfilter/nf_conntrack_buckets)
		objsize=${after#* }
		sample ct_scale recipe flows_created "$count"
		sample ct_scale recipe new_flows_per_s "$((count / t))"
		sample ct_scale recipe seconds "$t"
		sample ct_scale recipe table_max "$max"
		# Slab object plus the hash table's share (8-byte buckets).
		sample ct_scale recipe bytes_per_flow "$((objsize + buckets * 8 / max))"
		sample ct_scale recipe slab_objects_added "$((${after% *} - before))"
		say "  ct_scale recipe: ${t}s; nf_conntrack_count $count (max $max, buckets $buckets, object ${objsize}B," \
			"slab objects +$((${after% *} - before))); $out"
		cfg_down_recipe
	fi
}

# ---- main ----
trap lab_down EXIT
mkdir -p "$OUT"
: >"$SAMPLES"
[ -x "$RBBENCH" ] && [ -x "$RELAYBPF" ] || { say "build first: make all build/bench/rbbench"; exit 1; }
"$RBBENCH" selftest >/dev/null || { say "the generator's frames are wrong (rbbench selftest)"; exit 1; }
python3 "$REPO/bench/report.py" --selftest >/dev/null || { say "report.py's per-round ratios are wrong (report.py --selftest)"; exit 1; }
lab_up_or_die >/dev/null
front sysctl -qw net.ipv4.ip_forward=1
client sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
client sysctl -qw net.ipv4.tcp_tw_reuse=1
CLIENT_MAC=$(mac_of client c0)
FRONT_MAC=$(mac_of front f0)
BACK_TUN_MAC=$(mac_of back "$TUN_BACK")
FRONT_TUN_MAC=$(mac_of front "$TUN_FRONT")
# The replies go to the generator's 100 client addresses, which nobody
# holds: the front knows their link address (c0's) for good, as it would
# have learnt a real client's.
for i in $(seq 0 99); do
	echo "neigh replace ${GEN_CLIENTS%.*}.$((${GEN_CLIENTS##*.} + i)) lladdr $CLIENT_MAC dev f0 nud permanent"
done | front ip -batch -
front_xdp_pass || { say "cannot attach the bench XDP program to f0"; exit 1; }
lab_spawn "$NS_BACK" iperf3 -s -p "$IPERF_PORT"
lab_spawn "$NS_BACK" "$RBBENCH" crr-server "$CRR_PORT" "$CLIENT_NET"
lab_spawn "$NS_BACK" "$RBBENCH" udp-echo "$BACK_TUN" "$RR_PORT" "$CLIENT_NET"
# A veth accepts XDP-redirected frames only in NAPI mode: with an XDP
# program of its own or with GRO on. GRO on, in every configuration, makes
# the backend's tunnel device behave like a NIC for relaybpf-xdp (whose
# fast path redirects into the tunnel) without a program there.
[ "$LAB_TUNNEL" = wg ] || back ethtool -K "$TUN_BACK" gro on >/dev/null

# A configuration whose setup fails (relaybpf-xdp until --xdp-mode exists)
# is reported as not available and left out of the run.
ACTIVE=""
for cfg in $CONFIGS; do
	if err=$("cfg_up_$cfg" 2>&1); then
		ACTIVE="$ACTIVE $cfg"
	else
		echo "bench: $cfg not available: $(echo "$err" | head -1)"
		sample unavailable "$cfg" reason "$(echo "$err" | head -1)"
	fi
	"cfg_down_$cfg" >/dev/null 2>&1
done
say "configurations: $ACTIVE; $ROUNDS round(s), ${SECS}s windows; lab prefix $LAB_PREFIX"

for round in $(seq "$ROUNDS"); do
	say "round $round/$ROUNDS"
	for cfg in $ACTIVE; do
		"cfg_up_$cfg" || { fail "$cfg setup failed in round $round"; "cfg_down_$cfg" >/dev/null 2>&1; continue; }
		leaks=$(lab_sink_leaks)
		if wanted pps && runs_fwd "$cfg"; then
			for proto in $PPS_PROTOS; do
				pps_run "$cfg" "$proto" 1
				pps_run "$cfg" "$proto" 10000
			done
		fi
		if wanted rev && runs_rev "$cfg"; then
			for proto in $PPS_PROTOS; do
				pps_run "$cfg" "$proto" 1 rev
				pps_run "$cfg" "$proto" 10000 rev
			done
		fi
		if runs_sockets "$cfg"; then
			wanted crr && tcp_crr_run "$cfg"
			wanted rr && udp_rr_run "$cfg"
			wanted bulk && tcp_bulk_run "$cfg"
		fi
		# Replies that left the backend by its default route, not the
		# tunnel (the ceiling's frames are not for the backend).
		is_ceiling "$cfg" || [ "$(lab_sink_leaks)" = "$leaks" ] ||
			fail "$cfg replies: $(($(lab_sink_leaks) - leaks)) packets leaked to the sink in round $round"
		"cfg_down_$cfg" >/dev/null 2>&1
	done
done
round=""
# Neither depends on the tunnel: the veth table has them.
if [ "$LAB_TUNNEL" != wg ]; then
	wanted prog_ns && prog_ns_run
	wanted ct_scale && ct_scale_run
fi

# report.py fails a run where a ceiling measured less than what it bounds.
python3 "$REPO/bench/report.py" "$SAMPLES" "$OUT" "$SUFFIX" "$LAB_TUNNEL" || echo "report: a ceiling below what it bounds" >>"$LAB_DIR/fails"
if [ -s "$LAB_DIR/fails" ]; then
	say "FAILED: $(wc -l <"$LAB_DIR/fails") run(s) where a configuration did not do its job (above)"
	exit 1
fi
