#!/usr/bin/env python3
"""Side-by-side: the seed's checker against escalate, on equivalent data.

    scripts/compare-seed.py                  # every case, 7 runs each (~5 min)
    scripts/compare-seed.py --runs 11 --case check-1pct --case create
    scripts/compare-seed.py --full           # adds check with 100 k due (the seed needs ~2 min a run)

The seed (`../shared/baseline/seed_escalation.py`, or --seed-dir) runs on
databases from its own `gen_workload.py`; escalate on databases from
`examples/workload.rs` with the same open, resolved and due counts. Each
case alternates the two commands run by run (seed, escalate, seed, …) so
that the machine's noise falls on both alike, gives a command that writes a
fresh copy of its database before every run (`cp` + `sync`, untimed), and
compares medians. Times are whole processes, start-up included, output sent
to /dev/null. The ratio is seed ÷ escalate: above 1, escalate is faster.

The seed judges due-ness by the wall clock at generation and keeps its
not-due issues not due for 30 minutes, so its databases are generated right
before the case that uses them. escalate runs with `--now` fixed.

Prints a markdown table; --json FILE also writes the raw run times.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOW = "2026-11-02T09:00:00Z"


def case_table():
    """name -> (seed db spec, escalate db spec, seed argv tail, escalate argv tail, writes)."""
    return {
        "check-1pct": (
            dict(open=100_000, resolved=0, due=0.01),
            dict(open=100_000, resolved=0, due=0.01),
            ["check"], ["check"], True,
            "check, 100 k open, 1 % due"),
        "check-100pct-10k": (
            dict(open=10_000, resolved=0, due=1.0),
            dict(open=10_000, resolved=0, due=1.0),
            ["check"], ["check"], True,
            "check, 10 k open, 100 % due"),
        "check-none": (
            dict(open=100_000, resolved=0, due=0.0),
            dict(open=1_000_000, resolved=0, due=0.0),
            ["check"], ["check"], True,
            "check, nothing due (seed 100 k open, escalate 1 M)"),
        "report": (
            dict(open=50_000, resolved=50_000, due=0.0),
            dict(open=50_000, resolved=50_000, due=0.0),
            ["report", "--days", "7"], ["report", "--days", "7"], False,
            "report --days 7, 100 k issues (50 k open + 50 k resolved)"),
        "create": (
            dict(open=100_000, resolved=0, due=0.0),
            dict(open=100_000, resolved=0, due=0.0),
            ["create", "Benchmark issue", "Created by compare-seed", "customer_issue"],
            ["create", "--chain", "customer_issue", "--title", "Benchmark issue"], False,
            "create (100 k open)"),
        "check-100pct-100k": (
            dict(open=100_000, resolved=0, due=1.0),
            dict(open=100_000, resolved=0, due=1.0),
            ["check"], ["check"], True,
            "check, 100 k open, 100 % due"),
    }


DEFAULT_CASES = ["check-1pct", "check-100pct-10k", "check-none", "report", "create"]


def run(argv, **kw):
    subprocess.run(argv, check=True, **kw)


def fresh(src, dst):
    """A copy of src at dst without a stale WAL, flushed to disk (untimed)."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(dst) + suffix).unlink(missing_ok=True)
    shutil.copyfile(src, dst)
    run(["sync"])


def timed(argv):
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def seed_db(args, spec, path):
    run([sys.executable, str(args.seed_dir / "gen_workload.py"), "--db", str(path),
         "--open", str(spec["open"]), "--resolved", str(spec["resolved"]),
         "--due-fraction", str(spec["due"]), "--seed", "1", "--force"],
        stdout=subprocess.DEVNULL)


def escalate_db(args, spec, path):
    run([str(args.workload), "--db", str(path), "--open", str(spec["open"]),
         "--resolved", str(spec["resolved"]), "--due-fraction", str(spec["due"]),
         "--now", NOW, "--config", str(args.config), "--force"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def one_case(args, name, work):
    seed_spec, esc_spec, seed_tail, esc_tail, writes, label = case_table()[name]
    sys.stderr.write(f"== {name}: generating databases\n")
    esc_src, seed_src = work / f"{name}-escalate.db", work / f"{name}-seed.db"
    escalate_db(args, esc_spec, esc_src)
    seed_db(args, seed_spec, seed_src)  # last: the seed's clock starts now
    esc_db, sdb = work / "run-escalate.db", work / "run-seed.db"
    fresh(esc_src, esc_db)
    fresh(seed_src, sdb)
    seed_argv = [sys.executable, str(args.seed_dir / "seed_escalation.py"), "--db", str(sdb)]
    esc_argv = [str(args.escalate), "--config", str(args.config), "--now", NOW,
                "--db", str(esc_db)]
    runs = 1 if name == "check-100pct-100k" else args.runs
    seed_times, esc_times = [], []
    for i in range(runs):
        sys.stderr.write(f"   run {i + 1}/{runs}\n")
        if writes:
            fresh(seed_src, sdb)
        seed_times.append(timed(seed_argv + seed_tail))
        if writes:
            fresh(esc_src, esc_db)
        esc_times.append(timed(esc_argv + esc_tail))
    return label, seed_times, esc_times


def fmt(seconds):
    return f"{seconds * 1000:,.1f} ms" if seconds < 1 else f"{seconds:,.2f} s"


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=7, help="alternating runs per case (default 7)")
    ap.add_argument("--case", action="append", choices=sorted(case_table()),
                    help="run only these cases (repeatable)")
    ap.add_argument("--full", action="store_true", help="also check with 100 k due (slow seed)")
    ap.add_argument("--seed-dir", type=Path, default=ROOT.parent / "shared" / "baseline")
    # Where cargo put the release build: CARGO_TARGET_DIR when set (relative
    # to the repository, as cargo reads it), else target/.
    target = ROOT / os.environ.get("CARGO_TARGET_DIR", "target")
    ap.add_argument("--escalate", type=Path, default=target / "release/escalate")
    ap.add_argument("--workload", type=Path, default=target / "release/examples/workload")
    ap.add_argument("--config", type=Path, default=ROOT / "chains.toml")
    ap.add_argument("--work", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "escalate-vs-seed")
    ap.add_argument("--json", type=Path, help="write the raw run times here")
    args = ap.parse_args()
    for tool in (args.escalate, args.workload):
        if not tool.exists():
            ap.error(f"{tool} is missing: run `cargo build --release --locked --bins --examples`")
    if not (args.seed_dir / "seed_escalation.py").exists():
        ap.error(f"no seed_escalation.py in {args.seed_dir} (use --seed-dir)")
    cases = args.case or DEFAULT_CASES + (["check-100pct-100k"] if args.full else [])
    args.work.mkdir(parents=True, exist_ok=True)
    results = {}
    print("| run | seed (median) | escalate (median) | ratio |")
    print("|---|---|---|---|")
    for name in cases:
        label, s, e = one_case(args, name, args.work)
        ms, me = statistics.median(s), statistics.median(e)
        results[name] = {"label": label, "seed_s": s, "escalate_s": e}
        print(f"| {label} | {fmt(ms)} | {fmt(me)} | {ms / me:,.1f}× |", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
