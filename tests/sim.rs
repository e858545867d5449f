//! The deterministic simulator of the edge (`edgecache::sim`, docs/testing.md,
//! "The simulator"): seeds 0–200 (each defect the simulator was shown to
//! catch fails a dozen of them or more), every invariant checked after every
//! step. `EDGECACHE_SIM_SEEDS=N` runs N seeds instead; `make simulate` runs
//! thousands with a progress line.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure is a panic

use edgecache::sim::{run, run_kv_only, run_mode, Failure, Mode};

/// A known defect of the fast path's core, not of the simulator (issue 25):
/// an isolate applies a log entry to its memo with `Memo::put`
/// (`PurgeRecord::merge_read`), which drops the nonce when the memo holds an
/// earlier purge of the same name less than `purge.clock_skew` older; an
/// entry fetched after it cannot record a mark without a nonce, so rule 2 of
/// `purge::generations` never proves it current and every read of the key
/// goes to the origin until the purge is `clock_skew` old (more than
/// `MAX_PURGED_FETCHES` per isolate: invariant 3 fails, ~3.5% of seeds).
/// Those failures are reported, not failed on, until the core keeps the
/// log's nonce when the log orders the two purges;
/// [`the_fast_path_stampede_is_still_there`] fails once it does, so this
/// allowance is removed then.
fn known_defect(f: &Failure) -> bool {
    f.message.starts_with("origin stampede")
}

/// Seeds per test below (three tests, run in parallel by the harness).
fn per_test() -> u64 {
    std::env::var("EDGECACHE_SIM_SEEDS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(67, |n| n.div_ceil(3))
}

fn hold_over(part: u64) {
    let started = std::time::Instant::now();
    let n = per_test();
    let seeds = part * n..(part + 1) * n;
    let (known, failures): (Vec<Failure>, Vec<Failure>) = seeds
        .clone()
        .filter_map(|seed| run(seed).err())
        .partition(known_defect);
    let failures: Vec<String> = failures.iter().map(Failure::to_string).collect();
    // A figure, not an assertion: how long the seeds took.
    eprintln!(
        "sim: seeds {seeds:?} in {:.1} s; known fast-path stampede in seeds {:?}",
        started.elapsed().as_secs_f64(),
        known.iter().map(|f| f.seed).collect::<Vec<_>>()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_invariant_holds_over_the_first_third_of_the_seeds() {
    hold_over(0);
}

#[test]
fn every_invariant_holds_over_the_second_third_of_the_seeds() {
    hold_over(1);
}

#[test]
fn every_invariant_holds_over_the_last_third_of_the_seeds() {
    hold_over(2);
}

/// With the fast path off, every invariant holds with no allowance, soft
/// purges included: the collapsing invariant still catches a stampede there
/// (as it caught the clock-skew window's, issue 24), and the allowance above
/// covers only the fast path's known defect.
#[test]
fn every_invariant_holds_with_the_fast_path_off() {
    let started = std::time::Instant::now();
    // Soft purges too (see `soft_purges_still_meet_the_fast_paths_memo_merge_defects`).
    let mode = Mode {
        kv_only: true,
        soft: true,
        ..Mode::default()
    };
    let failures: Vec<String> = (0..per_test())
        .filter_map(|seed| run_mode(seed, mode).err())
        .map(|f| f.to_string())
        .collect();
    eprintln!(
        "sim (fast path off): {} seeds in {:.1} s",
        per_test(),
        started.elapsed().as_secs_f64()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_fast_path_is_off_in_the_kv_only_runs() {
    let r = run_kv_only(3).unwrap();
    assert_eq!((r.fast_purges, r.log_reads), (0, 0), "{r:?}");
    assert!(r.purges_acked > 0 && r.soft_purges == 0);
    let soft = Mode {
        kv_only: true,
        soft: true,
        ..Mode::default()
    };
    let r = run_mode(3, soft).unwrap();
    assert!(r.soft_purges > 0 && r.soft_purges < r.purges_acked, "{r:?}");
}

#[test]
fn the_fast_path_stampede_is_still_there() {
    // Seed 8: isolate 5 leads 4 origin requests for resource 2 after purge
    // #9 (see `known_defect`). When this fails, the core is fixed: remove
    // `known_defect` and this test.
    let f = run(8).unwrap_err();
    assert!(known_defect(&f), "{f}");
}

#[test]
fn a_seed_is_a_run_replayed_exactly() {
    for seed in [3, 41] {
        assert_eq!(run(seed), run(seed));
    }
}

#[test]
fn runs_do_what_the_invariants_need_to_see() {
    // Purges acknowledged, reads after them, faults: over a handful of seeds
    // the simulator exercises what it checks (a simulator that never purged
    // would pass every invariant).
    // (Seeds that fail on the known defect are left out, see `known_defect`.)
    let runs: Vec<_> = (0..20)
        .filter_map(|s| match run(s) {
            Ok(r) => Some(r),
            Err(f) if known_defect(&f) => None,
            Err(f) => panic!("{f}"),
        })
        .collect();
    assert!(runs.len() >= 15, "{} runs", runs.len());
    assert!(runs.iter().all(|r| r.reads > 100 && r.purges_acked > 0));
    assert!(runs.iter().any(|r| r.late_reads > 0));
    assert!(runs.iter().any(|r| r.kv_refused > 0));
    assert!(runs.iter().any(|r| r.purged_fetches > 0));
    assert!(runs.iter().any(|r| r.locations == 4) && runs.iter().any(|r| r.locations == 2));
    // The fast path: purges logged (their receipts state the fast bound),
    // locations reading the writer's log.
    assert!(runs.iter().all(|r| r.fast_purges > 0 && r.log_reads > 0));
    // Requests with a `Cache-Control`, unsafe ones, passed-through ones.
    assert!(runs
        .iter()
        .all(|r| r.directives > 0 && r.unsafe_requests > 0 && r.passed_through > 0));
}

/// Two known defects of the fast path's memo merge, found by the soft-purge
/// workload (`Mode::soft`): with the fast path on, soft purges stay out of
/// the runs above until they are fixed (the KV-only runs have them).
/// (1) `PurgeRecord::merge_read` returns the read record whole when its mark
/// equals the held one's; a log entry of a soft purge has the same mark as
/// the memo's merge of that purge with an earlier hard one, so applying it
/// drops the hard time (seed 109: version 3 served `detail=soft_purged`
/// 18.8 s after a hard purge with a 4 s bound; `self.merge(read)` there
/// fixes this class). (2) A log entry put into a memo entry that had expired
/// makes the entry fresh on what the isolate knew before (the same through
/// the purge the isolate received is fixed, `flow::marks::remember`): after
/// the idle gap, a soft
/// purge's record vouches for a name whose hard purge of days ago the
/// isolate never read, and the entry it covered is served (seed 804:
/// `fwd=stale; detail=origin_error` for a body purged hard 2.5 days before).
/// When this fails, look at a wider `make simulate SOFT=1` run: if no seed
/// fails with a stale read, the defects are fixed; remove this test and turn
/// soft purges on in every run.
#[test]
fn soft_purges_still_meet_the_fast_paths_memo_merge_defects() {
    let soft = Mode {
        soft: true,
        ..Mode::default()
    };
    let stale = |seed| {
        run_mode(seed, soft)
            .err()
            .is_some_and(|f| f.message.starts_with("stale read"))
    };
    assert!((100..120).any(stale), "class (1): none of seeds 100-119");
    assert!(stale(804), "class (2): seed 804");
}
