#!/usr/bin/env bash
# Faults while traffic flows: one TCP connection echoing every 0.1 s and one
# UDP flow (fixed ports) run through the relay while
#  1. `attach` is rerun with changed options: no stall, counters and flows kept;
#  2. the tunnel goes down and up at both ends (the back runs `relaybpf
#     daemon`, which puts its route back): both flows resume;
#  3. the backend's services restart: the UDP flow resumes on its conntrack
#     entry, new TCP connections are served, the old connection goes on;
#  3b. the daemons of both roles stop (SIGTERM, then SIGKILL) and start
#     again (systemctl restart, a crash, an upgrade): the datapath stays
#     attached meanwhile, neither flow stalls, the flows' entries are kept;
#  4. `relaybpf attach` is killed with SIGKILL half-way (strace slows its
#     netlink calls; killed once the first TC filter is in) after a detach
#     (which ends the TCP stream): the rerun completes it, the UDP flow
#     resumes, a new TCP connection is served, `detach` then leaves nothing;
#  5. the same on the back (killed once its fwmark rule is in, after the
#     sysctls): the rerun completes it, `detach` restores the back exactly.
set -u
. "$(dirname "$0")/rel_lib.sh"
TCP_PORT=45001
UDP_PORT=45002

# The backend's services; the processes they forked are ours to end too.
services_up() {
	lab_spawn "$NS_BACK" socat "$TCP_LISTEN:8080,reuseaddr,fork" EXEC:cat
	echo_pid=${LAB_PIDS[-1]}
	lab_spawn "$NS_BACK" python3 -c "$LAB_PY"'
s = socket.socket(AF, socket.SOCK_DGRAM)
s.bind((ANY, 5353))
while True:
    s.sendto(b"answer", s.recvfrom(4096)[1])
'
	udp_pid=${LAB_PIDS[-1]}
	wait_listening "$NS_BACK" tcp 8080
	wait_listening "$NS_BACK" udp 5353
}
# A served connection outlives its listener's restart: its socat and cat.
SERVED=()
cleanup() {
	local pid
	touch "$LAB_DIR/stop"
	sleep 0.5
	for pid in "${LAB_PIDS[@]}" "${SERVED[@]}"; do
		# shellcheck disable=SC2046 # one PID a word
		kill $(ps -o pid= --ppid "$pid") 2>/dev/null
	done
	kill "${SERVED[@]}" 2>/dev/null
	lab_down
}
trap cleanup EXIT

# flow_age PROTO CLIENT_PORT: "age_s packets_orig" of the flow's conntrack entry.
flow_age() {
	front "$RELAYBPF" conntrack --json --proto "$1" | python3 -c '
import json, sys
for f in json.load(sys.stdin):
    if f["client_port"] == int(sys.argv[1]):
        print(f["age_s"], f["packets"][0])
' "$2"
}
attach_front() {
	front "$RELAYBPF" attach --role front --dev f0 --backend "$BACK_TUN" "$@"
}
relay_filters() { # NS-FUNCTION DEV: relaybpf's TC filters on DEV
	"$1" tc filter show dev "$2" ingress | grep -c "handle 0x52b"
}

lab_up_or_die
services_up
lab_spawn "$NS_BACK" "$RELAYBPF" daemon --role back --dev "$TUN_BACK" --front "$FRONT_TUN"
daemon_pid=${LAB_PIDS[-1]}
lab_wait_for "the back's daemon" \
	sh -c "nsenter --net=/run/netns/$NS_BACK ip -$LAB_FAMILY rule | grep -q 9000"
expect_ok "front attached" attach_front

tcp_stream "$TCP_PORT" >"$LAB_DIR/rt_tcp" 2>&1 &
tcp_client=$!
client python3 -u -c "$LAB_PY"'
import sys, time
pub, port, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3]
u = socket.socket(AF, socket.SOCK_DGRAM)
u.bind((ANY, port))
u.settimeout(0.3)
while not os.path.exists(stop):
    u.sendto(b"q", (pub, 5353))
    try:
        if u.recv(100) == b"answer":
            print("%.3f" % time.time())
    except socket.timeout:
        pass
    time.sleep(0.1)
' "$FRONT_PUB" "$UDP_PORT" "$LAB_DIR/stop" >"$LAB_DIR/rt_udp" 2>&1 &
udp_client=$!
t=$(now)
expect_ok "TCP stream flows" rt_after "$LAB_DIR/rt_tcp" "$t" 5
expect_ok "UDP flow flows" rt_after "$LAB_DIR/rt_udp" "$t" 5
sleep 1

# 1. attach rerun with changed options during the transfer.
fwd0=$(front_stat forwarded_packets)
read -r age0 _ < <(flow_age tcp "$TCP_PORT")
t0=$(now)
expect_ok "1: attach rerun with --mss 1300 --rate-limit 100000 during the transfer" \
	attach_front --mss 1300 --rate-limit 100000
sleep 2
t1=$(now)
expect_match "1: the change is applied" "mss clamp +1300" "$(front "$RELAYBPF" status)"
gap=$(max_gap "$LAB_DIR/rt_tcp" "$t0" "$t1")
expect_ok "1: the TCP stream did not stall (longest gap ${gap}s < 0.5s)" \
	python3 -c "import sys; sys.exit(not $gap < 0.5)"
expect_gt "1: counters kept and counting (forwarded_packets)" "$fwd0" \
	"$(front_stat forwarded_packets)"
read -r age1 _ < <(flow_age tcp "$TCP_PORT")
expect_ok "1: the TCP flow's entry kept (age $age0 s -> ${age1:-none} s)" test "${age1:--1}" -ge "$age0"

# 2. the tunnel down and up at both ends.
read -r uage0 _ < <(flow_age udp "$UDP_PORT")
front ip link set "$TUN_FRONT" down
back ip link set "$TUN_BACK" down
sleep 2
front ip link set "$TUN_FRONT" up
back ip link set "$TUN_BACK" up
t2=$(now)
expect_ok "2: UDP flow resumes after the tunnel down/up" rt_after "$LAB_DIR/rt_udp" "$t2" 5
expect_ok "2: TCP stream resumes after the tunnel down/up" rt_after "$LAB_DIR/rt_tcp" "$t2" 15
read -r uage1 _ < <(flow_age udp "$UDP_PORT")
expect_ok "2: the UDP flow's entry kept (age $uage0 s -> ${uage1:-none} s)" \
	test "${uage1:--1}" -ge "$uage0"

# 3. the backend's services restart (the listeners; a served connection goes on).
mapfile -t -O "${#SERVED[@]}" SERVED < <(ps -o pid= --ppid "$echo_pid" | tr -d ' ')
kill "$echo_pid" "$udp_pid"
sleep 1
services_up
t3=$(now)
expect_ok "3: UDP flow resumes after the service restart" rt_after "$LAB_DIR/rt_udp" "$t3" 5
expect_eq "3: a new TCP connection is served" hi \
	"$(echo hi | client socat -T2 - "TCP:$(hp "$FRONT_PUB" 8080)" 2>/dev/null)"
expect_ok "3: the established TCP stream goes on" rt_after "$LAB_DIR/rt_tcp" "$t3" 5
read -r uage2 _ < <(flow_age udp "$UDP_PORT")
expect_ok "3: the UDP flow's entry kept (age ${uage1:-} s -> ${uage2:-none} s)" \
	test "${uage2:--1}" -ge "${uage1:-0}"

# 3b. The daemons stop and start again: nothing they attached goes with them.
lab_spawn "$NS_FRONT" "$RELAYBPF" daemon --role front --dev f0 --backend "$BACK_TUN"
front_daemon=${LAB_PIDS[-1]}
expect_ok "3b: front daemon attached" lab_wait_for "the front's daemon" \
	grep -q 'relaybpf daemon: watching f0' "$LAB_DIR/spawned.log"
read -r age0 _ < <(flow_age tcp "$TCP_PORT")
t0=$(now)
kill -TERM "$front_daemon" "$daemon_pid"
wait "$front_daemon"
expect_eq "3b: front daemon exits 0 on SIGTERM" 0 "$?"
wait "$daemon_pid"
expect_eq "3b: back daemon exits 0 on SIGTERM" 0 "$?"
sleep 1
expect_eq "3b: daemons stopped: the filters stay" "1 1 1" \
	"$(relay_filters front f0) $(relay_filters front "$TUN_FRONT") $(relay_filters back "$TUN_BACK")"
expect_eq "3b: daemons stopped: the back's rule stays" 1 \
	"$(back ip "-$LAB_FAMILY" rule | grep -c '^9000:')"
# Started again (a new process reloads and swaps the programs in, as an
# upgrade does), then killed (a crash), then started again.
for sig in KILL none; do
	lab_spawn "$NS_FRONT" "$RELAYBPF" daemon --role front --dev f0 --backend "$BACK_TUN"
	front_daemon=${LAB_PIDS[-1]}
	lab_spawn "$NS_BACK" "$RELAYBPF" daemon --role back --dev "$TUN_BACK" --front "$FRONT_TUN"
	daemon_pid=${LAB_PIDS[-1]}
	sleep 1.5
	[ "$sig" = none ] && break
	kill -KILL "$front_daemon" "$daemon_pid"
	wait "$front_daemon" "$daemon_pid" 2>/dev/null
done
t1=$(now)
gap=$(max_gap "$LAB_DIR/rt_tcp" "$t0" "$t1")
expect_ok "3b: the TCP stream did not stall across the restarts (longest gap ${gap}s < 0.5s)" \
	python3 -c "import sys; sys.exit(not $gap < 0.5)"
expect_ok "3b: the TCP stream goes on" rt_after "$LAB_DIR/rt_tcp" "$t1" 2
expect_ok "3b: the UDP flow goes on" rt_after "$LAB_DIR/rt_udp" "$t1" 2
read -r age1 _ < <(flow_age tcp "$TCP_PORT")
expect_ok "3b: the TCP flow's entry kept (age $age0 s -> ${age1:-none} s)" test "${age1:--1}" -ge "$age0"
kill -TERM "$front_daemon"
wait "$front_daemon"

# 4. SIGKILL in the middle of attach, then rerun, then detach.
state=$(front "$RELAYBPF" status --json |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["front"]["state"])')
expect_ok "4: detach" front "$RELAYBPF" detach --role front
# The loader: the process running $RELAYBPF among the job's descendants.
loader_of() {
	local pid=$1 child
	[ "$(readlink "/proc/$pid/exe")" = "$RELAYBPF" ] && echo "$pid"
	for child in $(ps -o pid= --ppid "$pid"); do
		loader_of "$child"
	done
}
# kill_attach_when NS-FUNCTION CHECK ATTACH-ARGS...: runs attach with every
# netlink send delayed by 0.5 s and SIGKILLs it as soon as the shell
# condition CHECK holds; prints "yes" if it did.
kill_attach_when() {
	local ns=$1 check=$2 pid loader
	shift 2
	"$ns" strace -f -o /dev/null -e trace=sendto -e inject=sendto:delay_enter=500000 \
		"$RELAYBPF" attach "$@" >/dev/null 2>&1 &
	pid=$!
	for _ in $(seq 200); do
		if eval "$check"; then
			loader=$(loader_of "$pid")
			[ -n "$loader" ] && kill -9 "$loader" && echo yes
			break
		fi
		sleep 0.05
	done
	wait "$pid"
}
killed=$(kill_attach_when front '[ "$(relay_filters front f0)" -gt 0 ]' --role front --dev f0 \
	--backend "$BACK_TUN")
expect_eq "4: attach killed with SIGKILL once the first filter was in" yes "$killed"
expect_eq "4: ... half-way: the public device's filter, not the tunnel's" "1 0" \
	"$(relay_filters front f0) $(relay_filters front "$TUN_FRONT")"
t4=$(now)
expect_ok "4: attach rerun completes it" attach_front
expect_eq "4: both filters in" "1 1" "$(relay_filters front f0) $(relay_filters front "$TUN_FRONT")"
# detach took the stream's connection with it (the front's own stack
# answered its next segment with an RST); rt_after only counted that as a
# resumption while it took the client's error message for a time.
expect_eq "4: a new TCP connection is served" hi \
	"$(echo hi | client socat -T2 - "TCP:$(hp "$FRONT_PUB" 8080)" 2>/dev/null)"
expect_ok "4: UDP flow resumes" rt_after "$LAB_DIR/rt_udp" "$t4" 5
# The clients end while relayed: the backend sees the connection close.
touch "$LAB_DIR/stop"
wait "$tcp_client" "$udp_client"
expect_ok "4: detach" front "$RELAYBPF" detach
expect_eq "4: no filter left" "0 0" "$(relay_filters front f0) $(relay_filters front "$TUN_FRONT")"
expect_ok "4: no state left ($state)" test ! -e "$state"
expect_match "4: status: nothing attached" "nothing attached|not attached" \
	"$(front "$RELAYBPF" status 2>&1)"

# 5. The back: its daemon stopped and the back detached, then attach SIGKILLed.
kill "$daemon_pid"
wait "$daemon_pid"
back "$RELAYBPF" detach --role back >/dev/null
before=$(lab_back_snapshot 2>&1)
rules() { back ip "-$LAB_FAMILY" rule | grep -c "^9000:"; }
killed=$(kill_attach_when back '[ "$(rules)" -gt 0 ]' --role back --dev "$TUN_BACK" \
	--front "$FRONT_TUN")
expect_eq "5: back attach killed with SIGKILL once its rule was in" yes "$killed"
expect_eq "5: ... half-way: the rule, no filter yet" "1 0" "$(rules) $(relay_filters back "$TUN_BACK")"
expect_ok "5: back attach rerun completes it" back "$RELAYBPF" attach --role back \
	--dev "$TUN_BACK" --front "$FRONT_TUN"
routes() { back ip "-$LAB_FAMILY" route show table 100 | grep -c default; }
expect_eq "5: one rule, the filter, the table's route" "1 1 1" \
	"$(rules) $(relay_filters back "$TUN_BACK") $(routes)"
expect_ok "5: back detach" back "$RELAYBPF" detach --role back
expect_eq "5: the back is exactly as before (rules, routes, filters, sysctls)" "$before" \
	"$(lab_back_snapshot 2>&1)"
e2e_summary
