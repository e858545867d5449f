//! The writer's zone queue (`purge::zone_queue`) on its own: what a call
//! covers when hand-offs arrive while it is in flight.
use edgecache::config::ZonePlan;
use edgecache::http::time::UnixMillis;
use edgecache::purge::zone::{limits, CallOutcome, ZoneWork};
use edgecache::purge::zone_queue::{after_call, enqueue, next_call, Enqueued};

fn work(tags: &[&str]) -> ZoneWork {
    ZoneWork {
        endpoint: "https://api.test/zones/z/purge_cache".into(),
        limits: limits(ZonePlan::Pro),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        everything: false,
    }
}

#[test]
fn a_webhook_arriving_during_a_call_keeps_its_tags_even_ones_the_call_carried() {
    let now = UnixMillis(1_000);
    let (q, how) = enqueue(None, &work(&["x", "y"]), None, now);
    assert_eq!(how, Enqueued::Queued);
    let call = next_call(&q).unwrap();
    // While the call is in flight, a purge of `x` arrives: the API may have
    // purged `x` before that purge's change was cached again.
    let (mut q, _) = enqueue(Some(q), &work(&["x"]), None, now);
    let ended = after_call(&mut q, &call, CallOutcome::Done, now);
    assert_eq!(ended.iter().map(|f| f.seq).collect::<Vec<_>>(), [1]);
    assert_eq!(q.jobs.len(), 1);
    assert_eq!(q.jobs[0].tags, ["x"]);
}

#[test]
fn a_retried_call_changes_nothing_but_the_wait() {
    let now = UnixMillis(1_000);
    let (mut q, _) = enqueue(None, &work(&["x"]), None, now);
    let before = q.jobs.clone();
    let call = next_call(&q).unwrap();
    assert!(after_call(&mut q, &call, CallOutcome::Retry(5_000), now).is_empty());
    assert_eq!(q.jobs, before);
    assert_eq!(q.not_before, UnixMillis(6_000));
    assert_eq!(q.failures, 1);
}

#[test]
fn past_the_job_cap_work_is_folded_into_purge_everything() {
    use edgecache::purge::zone_queue::MAX_JOBS;
    let now = UnixMillis(1_000);
    let mut q = None;
    for i in 0..MAX_JOBS {
        let (next, how) = enqueue(q, &work(&[&format!("t{i}")]), None, now);
        assert_ne!(how, Enqueued::Untracked, "job {i}");
        q = Some(next);
    }
    let (q, how) = enqueue(q, &work(&["late"]), None, now);
    assert_eq!(how, Enqueued::Untracked);
    assert_eq!(q.jobs.len(), MAX_JOBS);
    assert!(next_call(&q).unwrap().everything);
}
