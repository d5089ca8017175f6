#!/usr/bin/env bash
# relaybpf daemon --metrics: GET /metrics serves the counters in the
# Prometheus text format, which Prometheus's own parser (Debian's
# python3-prometheus-client) accepts, with the values `stats --json` shows.
# Every other request gets its HTTP error; clients that stall hold a slot,
# never the daemon (it still relays, still answers); a port in use fails the
# start with nothing attached; a stopped daemon leaves the datapath and
# closes the port. The IPv6 twin listens on [::1].
set -u
LAB_TUNNEL=veth
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/assert.sh"
. "$(dirname "$0")/cases.sh"
trap lab_down EXIT

if [ "$LAB_FAMILY" = 6 ]; then
	METRICS_ADDR="[::1]:9469"
	URL="http://[::1]:9469"
	LISTEN="TCP6-LISTEN:9469,bind=[::1],reuseaddr,fork"
else
	METRICS_ADDR="9469" # bare port: 127.0.0.1
	URL="http://127.0.0.1:9469"
	LISTEN="TCP4-LISTEN:9469,bind=127.0.0.1,reuseaddr,fork"
fi

# curl from the front's namespace; prints the status code, body into $1.
get() { # body_file curl-args...
	local out=$1
	shift
	front curl -sS -m 5 -o "$out" -w '%{http_code}' "$@"
}

lab_up_or_die
lab_peer_server 8080

# Bad value: usage error, nothing attached.
front "$RELAYBPF" daemon --role front --dev f0 --backend "$BACK_TUN" --metrics 127.0.0.1:0 \
	2>"$LAB_DIR/err"
expect_eq "$FAM: --metrics with port 0: usage error" 2 "$?"
expect_match "$FAM: the error says what is expected" "expected PORT, ADDR:PORT or \[IPV6\]:PORT" \
	"$(cat "$LAB_DIR/err")"
front "$RELAYBPF" attach --help | grep -q -- '--metrics'
expect_eq "$FAM: attach does not offer --metrics" 1 "$?"
expect_match "$FAM: daemon --help lists --metrics" "--metrics \[ADDR:\]PORT" \
	"$(front "$RELAYBPF" daemon --help)"

# Port in use: the start fails, attaching nothing.
lab_spawn "$NS_FRONT" socat "$LISTEN" SYSTEM:true
busy_pid=${LAB_PIDS[-1]}
lab_wait_for "the busy port" sh -c "nsenter --net=/run/netns/$NS_FRONT ss -Hltn 'sport = :9469' | grep -q ."
front "$RELAYBPF" daemon --role front --dev f0 --backend "$BACK_TUN" --metrics "$METRICS_ADDR" \
	2>"$LAB_DIR/err"
expect_eq "$FAM: port in use: the daemon fails" 1 "$?"
expect_match "$FAM: port in use: it says why" "--metrics: Address already in use" \
	"$(cat "$LAB_DIR/err")"
front "$RELAYBPF" status >/dev/null 2>&1
expect_eq "$FAM: port in use: nothing attached" 3 "$?"
kill "$busy_pid"
wait "$busy_pid" 2>/dev/null

lab_spawn "$NS_FRONT" "$RELAYBPF" daemon --role front --dev f0 --backend "$BACK_TUN" \
	--metrics "$METRICS_ADDR"
daemon_pid=${LAB_PIDS[-1]}
expect_ok "$FAM: the daemon attached" lab_wait_for "the daemon" \
	grep -q 'relaybpf daemon: watching' "$LAB_DIR/spawned.log"
back "$RELAYBPF" attach --role back --dev "$TUN_BACK" --front "$FRONT_TUN"
case_tcp_relay

# A scrape and the command, back to back, once the traffic is over.
code=$(get "$LAB_DIR/metrics" -D "$LAB_DIR/headers" "$URL/metrics")
stats=$(front "$RELAYBPF" stats --json)
expect_eq "$FAM: GET /metrics: 200" 200 "$code"
expect_match "$FAM: GET /metrics: the exposition format's content type" \
	'^Content-Type: text/plain; version=0\.0\.4; charset=utf-8' \
	"$(tr -d '\r' <"$LAB_DIR/headers")"
check=$(python3 - "$LAB_DIR/metrics" "$stats" <<'PY'
import json, sys
from prometheus_client.parser import text_string_to_metric_families
text = open(sys.argv[1]).read()
stats = json.loads(sys.argv[2])["front"]
families = list(text_string_to_metric_families(text))
problems = []
for fam in families:
    if not fam.documentation:
        problems.append("no HELP: " + fam.name)
    if fam.type not in ("counter", "gauge"):
        problems.append("type %s: %s" % (fam.type, fam.name))
samples = {}
for fam in families:
    for s in fam.samples:
        if s.labels.get("role") == "front":
            samples[s.name] = s.value
for name, value in stats.items():
    gauge = name in ("conntrack_entries", "conntrack_max")
    key = "relaybpf_" + name + ("" if gauge else "_total")
    # Counters of packets that kept coming (neighbour discovery, the
    # stack's own) may move between the two reads; the relay's may not.
    if name.startswith("pass_") or name in ("conntrack_entries",):
        continue
    # Per service and backend: their own metric families, labelled.
    if not isinstance(value, int):
        continue
    if samples.get(key) != value:
        problems.append("%s: metrics %s, stats %s" % (key, samples.get(key), value))
# Per backend, by its labels: what stats --json says of each.
labelled = {}
for fam in families:
    for s in fam.samples:
        if "backend" in s.labels:
            labelled[(s.name, s.labels["service"], s.labels["backend"],
                      s.labels.get("direction", ""))] = s.value
checked = 0
for svc, sv in stats.get("services", {}).items():
    for be, bv in sv["backends"].items():
        for metric in ("packets", "bytes"):
            for d in ("to_backend", "to_client"):
                key = ("relaybpf_backend_%s_total" % metric, svc, be, d)
                checked += 1
                if labelled.get(key) != bv["%s_%s" % (metric, d)]:
                    problems.append("%s: metrics %s, stats %s" % (key, labelled.get(key),
                                                                  bv["%s_%s" % (metric, d)]))
if not checked:
    problems.append("no backend's counters in stats --json")
if samples.get("relaybpf_up") != 1:
    problems.append("relaybpf_up is not 1")
if samples.get("relaybpf_forwarded_packets_total", 0) <= 0:
    problems.append("nothing forwarded")
print("; ".join(problems) or "ok %d families" % len(families))
PY
)
expect_match "$FAM: Prometheus's parser accepts it, values agree with stats --json" "^ok " "$check"

# Every other request: its error.
expect_eq "$FAM: GET /: 404" 404 "$(get /dev/null "$URL/")"
expect_eq "$FAM: POST /metrics: 405" 405 "$(get /dev/null -X POST -d x "$URL/metrics")"
expect_eq "$FAM: HEAD /metrics: 200" 200 "$(get "$LAB_DIR/head" -I "$URL/metrics")"
expect_eq "$FAM: GET /metrics?x=1: 200" 200 "$(get /dev/null "$URL/metrics?x=1")"
expect_eq "$FAM: a 5 KiB header: 431" 431 \
	"$(get /dev/null -H "X-Big: $(head -c 5000 /dev/zero | tr '\0' a)" "$URL/metrics")"
reply=$(front python3 -c "$LAB_PY"'
import sys
host, port = sys.argv[1], int(sys.argv[2])
s = socket.create_connection((host, port), timeout=5)
s.sendall(b"hello\r\n\r\n")
print(s.recv(100).split(b"\r\n")[0].decode())' "$([ "$LAB_FAMILY" = 6 ] && echo ::1 || echo 127.0.0.1)" 9469)
expect_eq "$FAM: not HTTP: 400" "HTTP/1.1 400 Bad Request" "$reply"

# Eight clients that connect and say nothing hold every slot: a ninth gets
# 503 at once, the daemon still relays; when they give up (or time out) the
# endpoint answers again.
idle_pids=()
for i in $(seq 8); do
	front socat -u "TCP:$(hp "$([ "$LAB_FAMILY" = 6 ] && echo ::1 || echo 127.0.0.1)" 9469)" \
		SYSTEM:"sleep 30" </dev/null >/dev/null 2>&1 &
	idle_pids+=($!)
done
sleep 0.5
expect_eq "$FAM: eight stalled clients: the ninth gets 503" 503 "$(get /dev/null "$URL/metrics")"
expect_eq "$FAM: the stalled clients do not stop the relay" "backend saw $CLIENT_IP 0" \
	"$(client socat -t20 -T20 - "TCP:$(hp "$FRONT_PUB" 8080),connect-timeout=10" </dev/null)"
# A stalled client is dropped after its 5 s: the slots free themselves.
expect_ok "$FAM: after the request timeout the endpoint answers again" \
	lab_wait_for "a free slot" sh -c "[ \"\$(nsenter --net=/run/netns/$NS_FRONT curl -s -m 2 -o /dev/null -w '%{http_code}' '$URL/metrics')\" = 200 ]"
kill "${idle_pids[@]}" 2>/dev/null
wait "${idle_pids[@]}" 2>/dev/null

# SIGTERM: the port closes, the relay stays.
kill "$daemon_pid"
wait "$daemon_pid" 2>/dev/null
expect_eq "$FAM: a stopped daemon's port is closed" 000 "$(get /dev/null "$URL/metrics" 2>/dev/null)"
front "$RELAYBPF" status >/dev/null 2>&1
expect_eq "$FAM: a stopped daemon leaves the datapath attached and healthy" 0 "$?"
e2e_summary
