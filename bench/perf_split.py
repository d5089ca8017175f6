#!/usr/bin/env python3
"""bench/perf_split.py [--comm PREFIX] DATA...: where the samples of a bench
recording went (BENCH_PERF=1 keeps build/bench/perf-WORKLOAD-CONFIG.data;
docs/bench.md "tcp_bulk_down_8 and the 2-backend service"). Each sample is
charged by its call chain (`perf script`):
  context: softirq (a chain through handle_softirqs or __do_softirq, in
    whatever thread it interrupted), napi_thread (a threaded NAPI poll, a
    napi/ or ksoftirqd/ thread), send_syscall / recv_syscall (tcp_sendmsg /
    tcp_recvmsg outside softirqs), iperf3_other (iperf3's other time),
    idle (swapper), else another process's own (left out of the shares);
  chains through: bpf (relaybpf's programs, their helpers and map lookups
    included; not the bench's relay_bench_*), netfilter (nf_hook_slow),
    ip_forward, tcp_rcv (tcp_v4_rcv, tcp_v6_rcv), gro, gso, copy (the
    leaf is a copy), irq_on (the sample sits in pvm_irq_enable);
  leaf: the function sampled, pvm_irq_enable charged to its caller (this
    paravirtual guest takes a timer sample that came while interrupts were
    off when they are enabled again).
Shares of the lab's samples (all but other processes' own), in %; the
lab's busy CPU time is theirs but idle's. With --comm, only the threads
whose name starts with PREFIX (napi/f0: a pps window's forwarder)."""
import collections
import re
import subprocess
import sys

SOFTIRQ = {"handle_softirqs", "__do_softirq"}
GRO = {"napi_gro_receive", "gro_receive_skb", "dev_gro_receive", "napi_gro_complete",
       "gro_complete", "inet_gro_receive", "tcp4_gro_receive", "skb_gro_receive", "napi_gro_flush"}
GSO = {"__skb_gso_segment", "skb_segment", "tcp_gso_segment", "inet_gso_segment",
       "skb_mac_gso_segment"}
COPY = {"_copy_to_iter", "_copy_from_iter", "copy_user_generic", "rep_movs_alternative",
        "__pi_memcpy", "memcpy_orig", "skb_copy_datagram_iter", "__skb_datagram_iter",
        "copy_page_to_iter", "copy_page_from_iter_atomic", "__copy_skb_header", "skb_copy_bits"}
# relaybpf's programs, not the bench's (relay_bench_count, the receiver's).
BPF_PROG = re.compile(r"bpf_prog_[0-9a-f]{16}_relay_(?!bench)")
IRQ_ON = {"pvm_irq_enable", "__raw_callee_save_pvm_irq_enable"}


def samples(path):
    out = subprocess.run(["perf", "script", "-i", path, "-F", "comm,cpu,period,ip,sym"],
                         capture_output=True, text=True, check=True).stdout
    comm = cpu = period = None
    frames = []
    for ln in out.split("\n"):
        if ln.strip() and not ln.startswith("\t"):
            if comm is not None:
                yield comm, cpu, period, frames
            head = ln.split()
            i = next(j for j, t in enumerate(head) if re.fullmatch(r"\[\d+\]", t))
            comm, cpu, period = " ".join(head[:i]), head[i].strip("[]"), int(head[i + 1])
            frames = []
        elif ln.strip():
            parts = ln.split(None, 1)
            frames.append(parts[1].split("+")[0].split(" (")[0] if len(parts) > 1 else "?")
    if comm is not None:
        yield comm, cpu, period, frames


def classify(comm, frames):
    f = set(frames)
    if f & SOFTIRQ:
        ctx = "softirq"
    elif "napi_threaded_poll" in f:
        ctx = "napi_thread"
    elif "tcp_sendmsg" in f:
        ctx = "send_syscall"
    elif "tcp_recvmsg" in f:
        ctx = "recv_syscall"
    elif comm.startswith("swapper"):
        ctx = "idle"
    elif comm.startswith("iperf3"):
        ctx = "iperf3_other"
    elif comm.startswith(("napi/", "ksoftirqd/")):
        ctx = "napi_thread"
    else:
        ctx = "other_procs"
    leaf = next((x for x in frames if x not in IRQ_ON), "?")
    tags = []
    if any(BPF_PROG.match(x) for x in frames):
        tags.append("bpf")
    if "nf_hook_slow" in f:
        tags.append("netfilter")
    if "ip_forward" in f:
        tags.append("ip_forward")
    if f & {"tcp_v4_rcv", "tcp_v6_rcv"}:
        tags.append("tcp_rcv")
    if f & GRO:
        tags.append("gro")
    if f & GSO:
        tags.append("gso")
    if leaf in COPY:
        tags.append("copy")
    if frames and frames[0] in IRQ_ON:
        tags.append("irq_on")
    return ctx, leaf, tags


CTXS = ("softirq", "napi_thread", "send_syscall", "recv_syscall", "iperf3_other", "idle")


def main():
    args = sys.argv[1:]
    only = None
    if args[:1] == ["--comm"]:
        only, args = args[1], args[2:]
    for path in args:
        n = 0
        cpu_ctx, tag, leaf, ctx_tag = (collections.Counter() for _ in range(4))
        busy_ns = 0
        for comm, cpu, period, frames in samples(path):
            if only and not comm.startswith(only):
                continue
            n += 1
            c, lf, tags = classify(comm, frames)
            cpu_ctx[(int(cpu), c)] += 1
            if c == "other_procs":
                continue
            if c != "idle":
                busy_ns += period
            for t in tags:
                tag[t] += 1
                ctx_tag[f"{c}:{t}"] += 1
            leaf[lf] += 1
        other = sum(v for k, v in cpu_ctx.items() if k[1] == "other_procs")
        lab = max(n - other, 1)

        def pct(v):
            return f"{100 * v / lab:.1f}"

        print(f"== {path}: {n} samples, other processes' own {100 * other / max(n, 1):.1f}%; "
              "below, shares of the rest (the lab's: softirqs in any thread, iperf3, NAPI, "
              "idle), %")
        print(f"the lab's busy CPU time (all but idle): {busy_ns / 1e6:.0f} ms")
        print("        " + " ".join(f"{c:>12}" for c in CTXS))
        for cpu in sorted({k[0] for k in cpu_ctx}):
            print(f"cpu{cpu}    " + " ".join(f"{pct(cpu_ctx[(cpu, c)]):>12}" for c in CTXS))
        print("chains through: " + ", ".join(f"{k} {pct(v)}" for k, v in tag.most_common()))
        print("  by context: " + ", ".join(f"{k} {pct(v)}" for k, v in ctx_tag.most_common()
                                          if v * 200 >= n))
        print("leaves (other processes left out; pvm_irq_enable charged to its caller): " +
              ", ".join(f"{k} {pct(v)}" for k, v in leaf.most_common(16)))


if __name__ == "__main__":
    main()
