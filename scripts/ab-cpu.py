#!/usr/bin/env python3
"""Compares the CPU time of two or more builds of a command, side by side in one run.

    ROUNDS=7 python3 scripts/ab-cpu.py /tmp/bench-old,target/release/sluicegate-bench \\
        child objects-sluicegate 1000000

Runs every binary with the same arguments once per round, alternating the order each round,
and prints each binary's median CPU time (user + system, from the children's rusage) and wall
time, and its speed relative to the first binary. CPU time is less disturbed than wall time by
other work on a shared machine, but not immune to it: compare binaries of one run only.
"""
import os, sys, subprocess, resource, time, statistics

if len(sys.argv) < 2:
    sys.exit("usage: ab-cpu.py BIN1,BIN2[,...] ARGS...")
bins = sys.argv[1].split(',')
args = sys.argv[2:]
rounds = int(os.environ.get('ROUNDS', '7'))
cpu = {b: [] for b in bins}
wall = {b: [] for b in bins}
for r in range(rounds):
    for b in (bins if r % 2 == 0 else bins[::-1]):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run([b] + args, stdout=subprocess.DEVNULL, check=True)
        w = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu[b].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        wall[b].append(w)
base = statistics.median(cpu[bins[0]])
for b in bins:
    m = statistics.median(cpu[b])
    print(f"{b}: median CPU {m:.3f} s (min {min(cpu[b]):.3f}, max {max(cpu[b]):.3f}), "
          f"median wall {statistics.median(wall[b]):.3f} s, speed vs the first {base / m:.3f}x")
