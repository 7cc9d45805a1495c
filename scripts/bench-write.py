#!/usr/bin/env python3
"""Issue 15's write paths, two escalate binaries side by side.

    scripts/bench-write.py --before OLD/escalate --after NEW/escalate
    scripts/bench-write.py --before OLD --after NEW --case create --runs 21
    scripts/bench-write.py ... --fsyncs        # also count fsyncs per command (strace)

Each case alternates the binaries run by run (before, after, before, …) so
the machine's noise falls on both alike. A command that writes gets a fresh
copy of its database before every run (`cp` + `rm -f -wal -shm`, then one
committed no-op write by Python's sqlite3, which exits without closing so
the WAL holds a commit, as the previous command leaves it in use; then
`sync`; untimed; `--cold` skips that write: every run then creates its WAL). Times are whole processes, start-up included, output sent to
/dev/null; the table gives medians (and min) in ms. Databases come from
`examples/workload.rs` (--workload) at NOW with the starter chains.toml,
under --work (kept: delete them to regenerate).

Cases: create, ack, resolve (one commit each, 100 k open), check-1pct
(100 k open, 1 % due), check-10k (10 k open, all due), check-none (1 M
open, none due), ingest (100 k `ticket.created` on a new database, one
run each; `--ingest N` to change the count).
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

DBS = {
    "mid1": dict(open=100_000, due=0.01),
    "k10": dict(open=10_000, due=1.0),
    "big": dict(open=1_000_000, due=0.0),
}

# name -> (database, argv tail)
CASES = {
    "create": ("mid1", ["create", "--chain", "customer_issue", "--title", "Bench"]),
    "ack": ("mid1", ["ack", "11", "--by", "bench"]),
    "resolve": ("mid1", ["resolve", "11", "--by", "bench"]),
    "check-1pct": ("mid1", ["check"]),
    "check-10k": ("k10", ["check"]),
    "check-none": ("big", ["check"]),
}


# One committed no-op write, then exit without closing: the WAL and its
# index stay as a previous command leaves them (holding commits).
WARM = """
import os, sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN IMMEDIATE")
# (SQLite skips writing a row rewritten unchanged: change it, then back.)
c.execute("UPDATE issues SET title = title || ' ' WHERE id = 1")
c.execute("UPDATE issues SET title = substr(title, 1, length(title) - 1) WHERE id = 1")
c.execute("COMMIT")
os._exit(0)
"""


def fresh(src, dst, warm=True):
    """A copy of src at dst (no WAL), then, with warm, a WAL that holds a
    commit, as the previous command leaves it in use; synced, untimed."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(dst) + suffix).unlink(missing_ok=True)
    shutil.copyfile(src, dst)
    if warm:
        subprocess.run([sys.executable, "-c", WARM, str(dst)], check=True)
    subprocess.run(["sync"], check=True)


def timed(argv):
    start = time.perf_counter()
    subprocess.run(argv, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def database(args, name):
    path = args.work / f"{name}.db"
    if not path.exists():
        spec = DBS[name]
        subprocess.run([str(args.workload), "--db", str(path), "--open", str(spec["open"]),
                        "--due-fraction", str(spec["due"]), "--now", NOW,
                        "--config", str(args.config), "--force"],
                       check=True, stdout=subprocess.DEVNULL)
    return path


def count_fsyncs(args, bin_, tail, src, run_db):
    fresh(src, run_db, args.warm)
    argv = ["strace", "-f", "-o", str(args.work / "strace.txt"), "-e",
            "trace=fsync,fdatasync", str(bin_), "--config", str(args.config), "--now", NOW,
            "--db", str(run_db)] + tail
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    text = (args.work / "strace.txt").read_text()
    return sum(1 for line in text.splitlines() if "sync(" in line and "resumed" not in line)


def ingest_file(args, n):
    path = args.work / f"created-{n}.jsonl"
    if not path.exists():
        with path.open("w") as f:
            for i in range(n):
                f.write(json.dumps({
                    "type": "ticket.created", "source": "zendesk", "external_id": str(i),
                    "at": "2026-11-02T08:00:00Z", "title": f"Ticket {i}", "priority": "high",
                    "tags": ["vip"], "chain": "customer_issue", "id": f"c-{i}"}) + "\n")
    return path


def run_ingest(args, bin_, events):
    db = args.work / "ingest.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    base = [str(bin_), "--config", str(args.config), "--now", NOW, "--db", str(db)]
    subprocess.run(base + ["init"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["sync"], check=True)
    return timed(base + ["ingest", str(events)])


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", type=Path, required=True)
    ap.add_argument("--after", type=Path, required=True)
    ap.add_argument("--runs", type=int, default=11)
    ap.add_argument("--case", action="append", choices=sorted(CASES) + ["ingest"])
    ap.add_argument("--ingest", type=int, default=100_000, help="events for the ingest case")
    ap.add_argument("--cold", dest="warm", action="store_false",
                    help="no WAL before each run (each run creates it)")
    ap.add_argument("--fsyncs", action="store_true", help="count fsyncs per command (strace)")
    ap.add_argument("--workload", type=Path,
                    default=Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
                    / "release/examples/workload")
    ap.add_argument("--config", type=Path, default=ROOT / "chains.toml")
    ap.add_argument("--work", type=Path, default=Path("/tmp/write-bench"))
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    cases = args.case or list(CASES) + ["ingest"]
    print("| case | before: median (min) | after: median (min) | ratio |" +
          (" fsyncs before / after |" if args.fsyncs else ""))
    print("|---|---|---|---|" + ("---|" if args.fsyncs else ""))
    for name in cases:
        sys.stderr.write(f"== {name}\n")
        if name == "ingest":
            events = ingest_file(args, args.ingest)
            b = [run_ingest(args, args.before, events)]
            a = [run_ingest(args, args.after, events)]
            rate = lambda t: f"{t * 1000:,.0f} ms ({args.ingest / t:,.0f}/s)"
            print(f"| ingest {args.ingest:,} created | {rate(b[0])} | {rate(a[0])} | "
                  f"{b[0] / a[0]:.1f}× |", flush=True)
            continue
        dbname, tail = CASES[name]
        src = database(args, dbname)
        run_db = args.work / "run.db"
        times = {"before": [], "after": []}
        for _ in range(args.runs):
            for label in ("before", "after"):
                bin_ = getattr(args, label)
                fresh(src, run_db, args.warm)
                argv = [str(bin_), "--config", str(args.config), "--now", NOW,
                        "--db", str(run_db)] + tail
                times[label].append(timed(argv))
        mb, ma = statistics.median(times["before"]), statistics.median(times["after"])
        fmt = lambda ts: f"{statistics.median(ts) * 1000:,.1f} ({min(ts) * 1000:,.1f})"
        extra = ""
        if args.fsyncs:
            fb = count_fsyncs(args, args.before, tail, src, run_db)
            fa = count_fsyncs(args, args.after, tail, src, run_db)
            extra = f" {fb} / {fa} |"
        print(f"| {name} | {fmt(times['before'])} | {fmt(times['after'])} | {mb / ma:.1f}× |"
              + extra, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
