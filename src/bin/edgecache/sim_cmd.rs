//! `edgecache sim`: the deterministic simulator of the edge
//! (`edgecache::sim`; docs/testing.md, "The simulator").

use crate::cli::{value, Exit};
use edgecache::sim::Mode;
use std::time::Instant;

pub const SIM_HELP: &str = "\
edgecache sim [--seeds N] [--from S] [--seed S] [--kv-only] [--soft] [--zone] [--verbose] [--trace]

Runs the deterministic simulator of the edge: data centres with their caches
and isolates, Workers KV with production's propagation and limits, the purge
writer, an origin whose data changes (each change purged by webhook), clock
skew and faults; readers sending plain GETs, request Cache-Control, unsafe
POSTs and requests no route covers. Checks after every step that no read is
staler than the stated bound (a soft purge's stale answers inside the entry's
windows), no acknowledged purge is lost, the origin is asked at most a few
times per purge and isolate, each request got what its kind promises, and
memory stays bounded. A seed is one run: a failure prints its seed and the
command that replays it.

    --seeds N     how many seeds to run (default 100)
    --from S      first seed (default 0); seeds S, S+1, ... run
    --seed S      run this one seed (same as --from S --seeds 1)
    --kv-only     with the fast path off (purge.poll 0s: every purge held to
                  the KV bound), as make test runs a share of its seeds
    --soft        a quarter of the purges soft (as make test runs them)
    --zone        the zone purge layer on (Free plan): the writer's calls to
                  a stand-in of the zone purge API, checked at the end
    --verbose     print each run's summary
    --trace       print each webhook, writer flush, fault and request (its
                  kind, Cache-Status, body version, collapse role) to stderr
Exit code 1 when a seed fails (every failing seed is printed).
";

struct Options {
    from: u64,
    seeds: u64,
    mode: Mode,
    verbose: bool,
}

fn number(v: &str, flag: &str) -> Result<u64, Exit> {
    v.parse()
        .map_err(|_| Exit::Usage(format!("{flag} needs a number, got {v:?}")))
}

fn options(args: &[String]) -> Result<Options, Exit> {
    let mut o = Options {
        from: 0,
        seeds: 100,
        mode: Mode::default(),
        verbose: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seeds" => o.seeds = number(&value(&mut it, a)?, a)?,
            "--from" => o.from = number(&value(&mut it, a)?, a)?,
            "--seed" => {
                o.from = number(&value(&mut it, a)?, a)?;
                o.seeds = 1;
            }
            "--kv-only" => o.mode.kv_only = true,
            "--soft" => o.mode.soft = true,
            "--zone" => o.mode.zone = true,
            "--verbose" => o.verbose = true,
            "--trace" => o.mode.trace = true,
            other => return Err(Exit::Usage(format!("unexpected argument {other:?}"))),
        }
    }
    Ok(o)
}

pub fn sim_cmd(args: &[String]) -> Result<(), Exit> {
    let o = options(args)?;
    let started = Instant::now();
    let mut failed = Vec::new();
    let every = (o.seeds / 20).max(1);
    let mut fast = FastFigures::default();
    for (i, seed) in (o.from..o.from.saturating_add(o.seeds)).enumerate() {
        match edgecache::sim::run_mode(seed, o.mode) {
            Ok(s) => {
                fast.add(&s);
                if o.verbose {
                    println!("{s:?}");
                }
            }
            Err(f) => {
                println!("{f}");
                failed.push(seed);
            }
        }
        let done = i as u64 + 1;
        if done.is_multiple_of(every) || done == o.seeds {
            eprintln!(
                "sim: {done}/{} seeds, {} failed, {:.1} s",
                o.seeds,
                failed.len(),
                started.elapsed().as_secs_f64()
            );
        }
    }
    eprintln!("{}", fast.line());
    if failed.is_empty() {
        return Ok(());
    }
    Err(Exit::Failure(format!(
        "{} seed(s) failed: {failed:?}",
        failed.len()
    )))
}

/// The fast path's figures over the runs that passed.
#[derive(Default)]
struct FastFigures {
    reads: u64,
    failed: u64,
    intervals: u64,
    max: u32,
    woke: u64,
}

impl FastFigures {
    fn add(&mut self, s: &edgecache::sim::Summary) {
        self.reads += s.log_reads + s.log_reads_failed;
        self.failed += s.log_reads_failed;
        self.intervals += s.log_read_intervals;
        self.max = self.max.max(s.max_log_reads_per_interval);
        self.woke += s.woke_after_window;
    }

    fn line(&self) -> String {
        let mean = self.reads as f64 / self.intervals.max(1) as f64;
        format!(
            "sim: fast path: writer log reads per location per poll interval: mean {mean:.2}, \
             max {}; {} failed (writer down or slow); {} locations woke after the log's window",
            self.max, self.failed, self.woke
        )
    }
}
