#!/usr/bin/env python3
"""Counts the atomic read-modify-write instructions a run executed, per item and per function.

On a shared x86 VM each one (a `lock`-prefixed instruction, or `xchg` with memory) costs about
as much as 20-40 ordinary instructions, and the objects benchmark spends most of its time after
them, so this count is the figure to watch when changing the hot path.

    valgrind --tool=callgrind --dump-instr=yes --callgrind-out-file=/tmp/cg.out \
        target/release/sluicegate-bench child objects-sluicegate 100000
    python3 scripts/count-atomics.py /tmp/cg.out 100000

It reads callgrind's per-instruction execution counts and finds the atomic instructions with
`objdump -d` on every object the run executed code in.
"""
import re, subprocess, sys, collections
if len(sys.argv) != 3:
    sys.exit("usage: count-atomics.py <callgrind.out made with --dump-instr=yes> <items>")
out, items = sys.argv[1], float(sys.argv[2])
obnames = {}; fnnames = {}
cur_ob = None; cur_fn = None
counts = collections.Counter()  # (ob, addr) -> Ir
fn_of = {}
last = [0, 0]
skip_next = False
def parse_pos(tok, i):
    if tok == '*': return last[i]
    if tok.startswith('+'): return last[i] + int(tok[1:], 0)
    if tok.startswith('-'): return last[i] - int(tok[1:], 0)
    return int(tok, 0)
def name(tbl, v):
    m = re.match(r'\((\d+)\)(?: (.*))?', v)
    if not m: return v
    if m.group(2) is not None: tbl[m.group(1)] = m.group(2)
    return tbl.get(m.group(1), v)
for line in open(out):
    line = line.rstrip('\n')
    if not line: continue
    c = line[0]
    if c.isdigit() or c in '+-*':
        toks = line.split()
        a = parse_pos(toks[0], 0); l = parse_pos(toks[1], 1) if len(toks) > 1 else last[1]
        last[0], last[1] = a, l
        if skip_next: skip_next = False; continue
        ir = int(toks[2]) if len(toks) > 2 else 0
        counts[(cur_ob, a)] += ir
        fn_of[(cur_ob, a)] = cur_fn
        continue
    if line.startswith('ob='): cur_ob = name(obnames, line[3:])
    elif line.startswith('fn='): cur_fn = name(fnnames, line[3:])
    elif line.startswith('cob='): name(obnames, line[4:])
    elif line.startswith('cfn='): name(fnnames, line[4:])
    elif line.startswith('calls='): skip_next = True
obs = set(o for o, _ in counts)
atomic = {}
for ob in obs:
    try:
        dis = subprocess.run(['objdump', '-d', '--no-show-raw-insn', ob], capture_output=True, text=True).stdout
    except Exception: continue
    for l in dis.splitlines():
        m = re.match(r'\s*([0-9a-f]+):\s+(.*)', l)
        if not m: continue
        ins = m.group(2)
        if re.match(r'lock\b', ins) or (re.match(r'xchg\s', ins) and '(' in ins):
            atomic[(ob, int(m.group(1), 16))] = ins
per_fn = collections.Counter(); total = 0
per_site = collections.Counter()
for k, ins in atomic.items():
    n = counts.get(k, 0)
    if n:
        total += n; per_fn[fn_of[k]] += n; per_site[(fn_of[k], hex(k[1]), ins.split()[0] + ' ' + ins.split()[1] if len(ins.split())>1 else ins)] += n
print(f"atomic RMWs per item: {total/items:.1f}")
for f, n in per_fn.most_common(40):
    try:
        print(f"{n/items:7.2f}  {f[:150]}")
    except BrokenPipeError:
        break
