//! A cacheable request in one isolate, the sequence of `glue/lookup.rs` over
//! the simulated platform: memory tier → Cache API → purge records (memo,
//! then KV) → `flow::on_stored` → collapse → origin (conditional when an
//! entry with a validator is kept) → `after_fetch` → 304 (`on_not_modified`)
//! or `on_origin` → store. Every decision is the core's; this file performs
//! the I/O it names, as the glue does.
//!
//! TODO(issue 24 item 1): when `flow/` holds the sequence behind its platform
//! trait, this file becomes that trait's simulator implementation.

use super::miss::{collapsed, Missed};
use super::origin::resource_of;
use super::world::{Cached, Isolate, World};
use crate::flow::refresh::refresh_hold;
use crate::flow::{self, Lookup, StoredDecision, StoredEntry};
use crate::http::cache_status::Detail;
use crate::http::headers::Headers;
use crate::http::method::Method;
use crate::http::time::UnixSecs;
use crate::purge::generations::{Gen, GenName, Generations};
use crate::purge::memo::plan_reads;
use std::rc::Rc;

/// One request's context (the glue's `env, ctx, state, lk` in one place).
pub struct Cx<'a> {
    pub w: &'a Rc<World>,
    pub iso: Rc<Isolate>,
    /// The Worker invocation (KV's per-invocation operation budget).
    pub inv: u64,
    pub lk: Lookup<'a>,
    pub res: usize,
}

impl Cx<'_> {
    pub fn loc(&self) -> usize {
        self.iso.loc
    }
    pub fn now(&self) -> UnixSecs {
        self.w.clock_secs(self.iso.loc)
    }
    pub fn key(&self) -> &str {
        self.lk.key.url()
    }
}

/// What the client got: its status, and the body's origin version for a body
/// of the resource (none for an error page).
#[derive(Debug, Clone, Copy)]
pub struct Served {
    pub status: u16,
    pub version: Option<u64>,
}

impl Served {
    pub fn body(status: u16, version: u64) -> Served {
        let version = (200..300).contains(&status).then_some(version);
        Served { status, version }
    }
    pub fn error(status: u16) -> Served {
        Served {
            status,
            version: None,
        }
    }
}

/// What the stored half found (`glue::lookup::Found`).
pub enum Found {
    Answered(Served),
    Miss(Missed),
}

/// A GET of resource `r`'s URL in isolate `iso`.
pub async fn request(w: Rc<World>, iso: Rc<Isolate>, url: String) {
    let headers = Headers::new();
    let incoming = flow::Incoming {
        method: &Method::Get,
        url: &url,
        headers: &headers,
        has_body: false,
        user_secret: None,
    };
    let flow::Plan::Lookup(lk) = flow::plan(&w.config, &incoming) else {
        w.check.borrow_mut().fail(format!("{url}: not a cacheable lookup"));
        return;
    };
    let Some(res) = resource_of(&url) else { return };
    let inv = w.id();
    let cx = Cx {
        w: &w,
        iso,
        inv,
        lk: *lk,
        res,
    };
    let served = lookup(&cx).await;
    if let Some(v) = served.version {
        let now = w.now();
        w.check.borrow_mut().served(now, res, v, cx.loc());
    }
}

async fn lookup(cx: &Cx<'_>) -> Served {
    let now = cx.now();
    if let Some(served) = memory_serve(cx, now).await {
        return served;
    }
    match stored(cx, now).await {
        Found::Answered(s) => s,
        Found::Miss(m) => collapsed(cx, m).await,
    }
}

/// The purge records of `names`: the memo first, then KV for the rest
/// (`glue::kv::read`); a failed read is `Gen::Unreadable`, never memoized.
pub async fn generations(cx: &Cx<'_>, names: &[GenName], now: UnixSecs) -> Generations {
    let (mut current, missing) = plan_reads(names, &cx.iso.memo.borrow(), now);
    for name in missing {
        let g = match cx.w.kv_get(cx.loc(), &name.kv_key(), cx.inv).await {
            Ok(v) => Gen::from_kv(v.as_deref()),
            Err(_) => Gen::Unreadable,
        };
        let g = cx.iso.memo.borrow_mut().put(name.clone(), g, now);
        current.insert(name, g);
    }
    current
}

/// The memory tier (`glue::memory::serve`): a current, fresh entry is served;
/// anything else is dropped from the tier.
pub async fn memory_serve(cx: &Cx<'_>, now: UnixSecs) -> Option<Served> {
    let found = cx.iso.memory.borrow_mut().get(cx.key(), now)?;
    let names = cx.lk.names(&found.entry.stamp);
    let gens = generations(cx, &names, now).await;
    let config = &cx.w.config;
    match flow::on_stored(config, &cx.lk, &found.entry, &found.headers, &gens, now) {
        StoredDecision::Serve {
            status,
            revalidate: false,
            ..
        } => Some(Served::body(status, found.body)),
        _ => {
            cx.iso.memory.borrow_mut().remove(cx.key());
            None
        }
    }
}

/// The stored half (`glue::lookup::stored`).
pub async fn stored(cx: &Cx<'_>, now: UnixSecs) -> Found {
    let Some(cached) = cx.w.cache_match(cx.loc(), cx.key()).await else {
        return no_entry(cx, now, None);
    };
    let Some(entry) = StoredEntry::parse(&cached.headers) else {
        return no_entry(cx, now, Some(Detail::UnreadableEntry));
    };
    let gens = generations(cx, &cx.lk.names(&entry.stamp), now).await;
    let config = &cx.w.config;
    match flow::on_stored(config, &cx.lk, &entry, &cached.headers, &gens, now) {
        StoredDecision::Serve {
            status, revalidate, ..
        } => {
            let hold = refresh_hold(cx.lk.route());
            if revalidate && cx.iso.refresh.borrow_mut().try_start(cx.key(), now, hold) {
                super::miss::spawn_refresh(cx, &cached);
            }
            if !revalidate {
                promote(cx, &cached, now);
            }
            Found::Answered(Served::body(status, cached.version))
        }
        StoredDecision::Miss {
            detail,
            stale_if_error,
            validator,
        } => Found::Miss(Missed {
            detail: Some(detail),
            kept: (stale_if_error || validator.is_some()).then(|| super::miss::Kept {
                cached,
                entry,
                stale_if_error,
                validator,
            }),
            seen: gens,
        }),
        StoredDecision::Unverifiable => Found::Answered(super::miss::uncached(cx).await),
    }
}

/// A miss without a usable entry: only the memo's values are known before the fetch.
fn no_entry(cx: &Cx<'_>, now: UnixSecs, detail: Option<Detail>) -> Found {
    let seen = plan_reads(&cx.lk.route_names(), &cx.iso.memo.borrow(), now).0;
    Found::Miss(Missed {
        detail,
        kept: None,
        seen,
    })
}

/// After a Cache API hit: a copy in the memory tier (`glue::memory::promote`).
fn promote(cx: &Cx<'_>, cached: &Cached, now: UnixSecs) {
    keep(&cx.iso, cx, cached.headers.clone(), cached.version, now);
}

/// Keeps a stored copy in the isolate's memory tier (`glue::memory::keep`).
pub fn keep(iso: &Isolate, cx: &Cx<'_>, headers: Headers, version: u64, now: UnixSecs) {
    let bytes = super::world::BODY_BYTES;
    if !iso.memory.borrow().admits(bytes) {
        return;
    }
    let base = cx.lk.key.base_url().to_string();
    if let Some(e) = flow::memory::MemEntry::new(base, headers, version, bytes) {
        iso.memory.borrow_mut().insert(cx.key().to_string(), e, now);
    }
}
