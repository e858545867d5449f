//! Production hazards: a config that is valid but wrong for a deployed worker
//! (`edgecache check --production`, run by the build before `wrangler deploy`).
//! Native only: it reads wrangler.toml beyond the `EDGECACHE` var (KV bindings,
//! plain-text vars).
//!
//! Secrets live in Cloudflare, out of this check's reach: it fails on what it
//! can see (a secret written in plain text in `[vars]`) and lists the secrets
//! the config needs, for `wrangler secret list`.

use super::location::Step;
use super::model::Config;

/// Shortest `purge.poll` `check --production` accepts (see `poll_finding`).
pub const PRODUCTION_MIN_POLL_MS: u64 = 500;
use super::wrangler::{LineCol, WranglerFile};
use std::net::{Ipv4Addr, Ipv6Addr};
use url::Host;

/// The KV binding the worker reads purge generations from.
pub const KV_BINDING: &str = "EDGECACHE_KV";
/// The Durable Object binding of the single purge writer, and its class.
pub const WRITER_BINDING: &str = "EDGECACHE_WRITER";
pub const WRITER_CLASS: &str = "PurgeWriter";

/// Longest `purge.tolerance` `check --production` lets pass (1 h; the
/// default, Standard Webhooks' recommendation, is 5 min): a signed webhook is
/// accepted that long before or after its timestamp, and its receipt is kept
/// in KV for twice that.
pub const PRODUCTION_MAX_TOLERANCE: u64 = 3600;
/// Longest `purge.generation_memo` `check --production` lets pass (60 s,
/// default 5 s): every purge's staleness bound grows by it.
pub const PRODUCTION_MAX_GENERATION_MEMO: u64 = 60;
/// Longest `purge.clock_skew` `check --production` lets pass (60 s, default
/// 2 s): every entry fetched within it after a purge of one of its names is
/// refetched, so a long one turns every purge into a stampede.
pub const PRODUCTION_MAX_CLOCK_SKEW: u64 = 60;

/// One hazard: the message names the field and says the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub message: String,
    pub at: Option<LineCol>,
}

/// A secret the worker reads, whether this config needs it, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretNeed {
    pub name: String,
    pub required: bool,
    pub why: String,
}

/// Every secret the worker reads (`wrangler secret put NAME`).
pub const SECRETS: [&str; 4] = [
    "EDGECACHE_KEY_SECRET",
    "EDGECACHE_WEBHOOK_SECRET",
    "EDGECACHE_EXPLAIN_TOKEN",
    "EDGECACHE_ZONE_TOKEN",
];

/// The secrets this config needs, required ones first.
pub fn needed_secrets(config: &Config) -> Vec<SecretNeed> {
    let need = |name: &str, required, why: &str| SecretNeed {
        name: name.to_string(),
        required,
        why: why.to_string(),
    };
    let per_user: Vec<String> = config
        .routes
        .iter()
        .filter(|r| r.per_user)
        .map(|r| format!("`{}`", r.name))
        .collect();
    let mut out = vec![need(
        "EDGECACHE_WEBHOOK_SECRET",
        true,
        "verifies purge webhooks (without it every purge is refused)",
    )];
    if !per_user.is_empty() {
        let why = format!(
            "keys per-user routes ({}); without it their signed-in requests are answered 400",
            per_user.join(", ")
        );
        out.push(need("EDGECACHE_KEY_SECRET", true, &why));
    }
    if config.purge.zone_id.is_some() {
        out.push(need(
            "EDGECACHE_ZONE_TOKEN",
            true,
            "purge.zone_id is set: zone purges run only with this token",
        ));
    }
    for name in bucket_secrets(config) {
        out.push(need(
            &name,
            true,
            "a private s3 origin signs its requests with it; without it its routes answer 502",
        ));
    }
    out.push(need(
        "EDGECACHE_EXPLAIN_TOKEN",
        false,
        "/__edgecache/explain answers 401 without it",
    ));
    out
}

/// The access key secrets of every private `s3` origin.
fn bucket_secrets(config: &Config) -> Vec<String> {
    config
        .origins
        .values()
        .filter_map(|o| match o {
            super::origins::Origin::S3(s) if s.private => Some(s.secret_names()),
            _ => None,
        })
        .flatten()
        .collect()
}

impl WranglerFile<'_> {
    fn at(&self, keys: &[&str], index: Option<(usize, &str)>) -> Option<LineCol> {
        let mut steps: Vec<Step> = self.root_steps().into_iter().map(Step::Key).collect();
        steps.extend(keys.iter().map(|k| Step::Key((*k).to_string())));
        if let Some((i, key)) = index {
            steps.extend([Step::Index(i), Step::Key(key.to_string())]);
        }
        self.locate(&steps)
    }

    /// The hazards of deploying `config` (read from this file) to production.
    pub fn production_findings(&self, config: &Config) -> Vec<Finding> {
        let var = |field: &str| self.at(&["vars", "EDGECACHE", field], None);
        let mut out = Vec::new();
        if config.debug {
            out.push(Finding {
                message: "field `debug`: true: Cache-Status shows every cache key to clients, and \
                          keys of per-user routes carry the user's HMAC id; set debug = false \
                          (keep it on in an environment for local work, e.g. [env.dev])"
                    .into(),
                at: var("debug"),
            });
        }
        if let Some(why) = unreachable_host(&config.origin) {
            out.push(Finding {
                message: format!(
                    "field `origin`: {:?} is {why}: a deployed worker cannot reach it; set \
                     origin to your API's public URL",
                    config.origin.as_str().trim_end_matches('/')
                ),
                at: var("origin"),
            });
        }
        out.extend(named_origin_findings(config, |n, f| {
            self.at(&["vars", "EDGECACHE", "origins", n, f], None)
        }));
        if !config.purge.api_base.starts_with("https://") {
            out.push(Finding {
                message: format!(
                    "purge: field `api_base`: {:?} is not https: the zone token would cross \
                     the network in clear text; remove it (the default is {:?})",
                    config.purge.api_base,
                    super::defaults::DEFAULT_API_BASE
                ),
                at: self.at(&["vars", "EDGECACHE", "purge", "api_base"], None),
            });
        }
        if config.purge.kv_propagation < super::defaults::DEFAULT_KV_PROPAGATION {
            out.push(Finding {
                message: format!(
                    "purge: field `kv_propagation`: {} s is shorter than Workers KV takes (60 s): \
                     receipts would state a staleness bound that does not hold; remove it",
                    config.purge.kv_propagation
                ),
                at: self.at(&["vars", "EDGECACHE", "purge", "kv_propagation"], None),
            });
        }
        out.extend(self.poll_finding(config));
        out.extend(self.plain_http_finding(config));
        out.extend(self.timing_findings(config));
        out.extend(self.kv_findings());
        out.extend(self.writer_findings());
        out.extend(self.plain_secret_findings(config));
        out
    }

    /// `purge.poll`: the fast bound a receipt states (poll + one read of the
    /// log + clock skew) holds only while the writer answers every location's
    /// read within the read's timeout. A Durable Object takes about 1,000
    /// requests a second; at one read per location per poll, a poll under
    /// [`PRODUCTION_MIN_POLL_MS`] lets 300 busy locations send it more than
    /// 600 a second, and reads that queue past the timeout fall back to the
    /// KV bound: the receipt's fast bound would not be the one that holds.
    fn poll_finding(&self, config: &Config) -> Option<Finding> {
        let p = &config.purge;
        let fast = p.fast_bound_ms()?;
        (p.poll_ms < PRODUCTION_MIN_POLL_MS).then(|| Finding {
            message: format!(
                "purge: field `poll`: {} ms would have every busy location read the purge \
                 writer {} times a second (300 locations: {} requests/s, against a Durable \
                 Object's ~1,000/s); reads slowed past {} ms break the fast bound receipts state \
                 ({fast} ms); set at least \"{PRODUCTION_MIN_POLL_MS}ms\"",
                p.poll_ms,
                1000 / p.poll_ms.max(1),
                300 * 1000 / p.poll_ms.max(1),
                super::defaults::FAST_READ_TIMEOUT_MS
            ),
            at: self.at(&["vars", "EDGECACHE", "purge", "poll"], None),
        })
    }

    /// An `http://` origin a deployed worker can reach: answers, and on
    /// per-user routes `Authorization` and cookies, cross the network in clear
    /// text, and an answer altered on the way is stored in an entry every
    /// client shares. (An unreachable one is reported as such.)
    fn plain_http_finding(&self, config: &Config) -> Option<Finding> {
        if config.origin.scheme() != "http" || unreachable_host(&config.origin).is_some() {
            return None;
        }
        Some(Finding {
            message: format!(
                "field `origin`: {:?} is plain http: per-user routes would send Authorization \
                 and cookies in clear text, and an answer altered on the way would be stored \
                 and served to every client; use https",
                config.origin.as_str().trim_end_matches('/')
            ),
            at: self.at(&["vars", "EDGECACHE", "origin"], None),
        })
    }

    /// Purge timings past what a deployment should run with (the bounds in
    /// `config::defaults`, each with its reason).
    fn timing_findings(&self, config: &Config) -> Vec<Finding> {
        let p = &config.purge;
        let checks = [
            (
                "tolerance",
                p.tolerance,
                PRODUCTION_MAX_TOLERANCE,
                "a signed purge webhook would be accepted that long before or after it was \
                 signed, and every receipt kept in KV for twice that",
            ),
            (
                "generation_memo",
                p.generation_memo,
                PRODUCTION_MAX_GENERATION_MEMO,
                "a purge could take that much longer to hold in an isolate that read its \
                 names before, and every receipt's staleness bound grows by it",
            ),
            (
                "clock_skew",
                p.clock_skew,
                PRODUCTION_MAX_CLOCK_SKEW,
                "every entry fetched that long after a purge of one of its names would be \
                 fetched again, so each purge becomes a stampede on the origin",
            ),
        ];
        checks
            .into_iter()
            .filter(|(_, value, max, _)| value > max)
            .map(|(field, value, max, why)| Finding {
                message: format!(
                    "purge: field `{field}`: {value} s is over {max} s: {why}; shorten it or \
                     remove it (the default is far shorter)"
                ),
                at: self.at(&["vars", "EDGECACHE", "purge", field], None),
            })
            .collect()
    }

    /// `[[kv_namespaces]]` (not inherited into environments): the binding is
    /// there, with a real id.
    fn kv_findings(&self) -> Option<Finding> {
        let table = match &self.env {
            None => "[[kv_namespaces]]".to_string(),
            Some(e) => format!("[[env.{e}.kv_namespaces]]"),
        };
        let list = self.root()?.get("kv_namespaces").and_then(|v| v.as_array());
        let found = list
            .into_iter()
            .flatten()
            .enumerate()
            .find(|(_, ns)| ns.get("binding").and_then(|b| b.as_str()) == Some(KV_BINDING));
        let Some((i, ns)) = found else {
            return Some(Finding {
                message: format!(
                    "kv_namespaces: no binding `{KV_BINDING}` (purges are recorded in it; wrangler \
                     does not inherit it into environments): add {table} with binding = \
                     \"{KV_BINDING}\" and the id from `npx wrangler kv namespace create {KV_BINDING}`"
                ),
                at: self.at(&["kv_namespaces"], None),
            });
        };
        let id = ns.get("id").and_then(|v| v.as_str()).unwrap_or("");
        (id.is_empty() || id.bytes().all(|b| b == b'0')).then(|| Finding {
            message: format!(
                "kv_namespaces: binding `{KV_BINDING}`: id {id:?} is the placeholder; run `npx \
                 wrangler kv namespace create {KV_BINDING}` and put the id it prints here"
            ),
            at: self.at(&["kv_namespaces"], Some((i, "id"))),
        })
    }

    /// The purge writer: `[[durable_objects.bindings]]` (not inherited into
    /// environments) naming `PurgeWriter`, and a top-level migration creating
    /// it as a SQLite-backed class (the Free plan has only those). Without it
    /// every webhook writes KV itself, and a burst naming one tag meets KV's
    /// one write per second per key: most of the burst is answered 503.
    fn writer_findings(&self) -> Vec<Finding> {
        let mut out = Vec::new();
        let table = match &self.env {
            None => "[[durable_objects.bindings]]".to_string(),
            Some(e) => format!("[[env.{e}.durable_objects.bindings]]"),
        };
        let bound = self
            .root()
            .and_then(|r| r.get("durable_objects"))
            .and_then(|d| d.get("bindings"))
            .and_then(|b| b.as_array())
            .into_iter()
            .flatten()
            .any(|b| {
                b.get("name").and_then(|n| n.as_str()) == Some(WRITER_BINDING)
                    && b.get("class_name").and_then(|n| n.as_str()) == Some(WRITER_CLASS)
            });
        if !bound {
            out.push(Finding {
                message: format!(
                    "durable_objects: no binding `{WRITER_BINDING}` to class `{WRITER_CLASS}` (the \
                     single purge writer; wrangler does not inherit it into environments): \
                     without it a burst of purges naming one tag meets Workers KV's one write \
                     per second per key and is answered 503; add {table} with name = \
                     \"{WRITER_BINDING}\" and class_name = \"{WRITER_CLASS}\""
                ),
                at: self.at(&["durable_objects"], None),
            });
        }
        let migrated = self
            .doc
            .get("migrations")
            .and_then(|m| m.as_array())
            .into_iter()
            .flatten()
            .filter_map(|m| m.get("new_sqlite_classes").and_then(|c| c.as_array()))
            .flatten()
            .any(|c| c.as_str() == Some(WRITER_CLASS));
        if bound && !migrated {
            out.push(Finding {
                message: format!(
                    "migrations: no migration with new_sqlite_classes = [\"{WRITER_CLASS}\"]: add \
                     [[migrations]] with tag = \"v1\" and new_sqlite_classes = [\"{WRITER_CLASS}\"] \
                     (SQLite-backed: the Free plan allows only those)"
                ),
                at: None,
            });
        }
        out
    }

    /// A secret written in `[vars]` is in the repository and the dashboard in
    /// clear text (the worker would read it: it falls back to a var).
    fn plain_secret_findings(&self, config: &Config) -> Vec<Finding> {
        let Some(vars) = self
            .root()
            .and_then(|t| t.get("vars"))
            .and_then(|v| v.as_table())
        else {
            return Vec::new();
        };
        let mut names: Vec<String> = SECRETS.iter().map(|s| s.to_string()).collect();
        names.extend(bucket_secrets(config));
        names
            .iter()
            .filter(|s| vars.contains_key(s.as_str()))
            .map(|s| Finding {
                message: format!(
                    "vars: `{s}` is a secret in plain text in wrangler.toml; remove it and run \
                     `npx wrangler secret put {s}`"
                ),
                at: self.at(&["vars", s.as_str()], None),
            })
            .collect()
    }
}

/// A named origin a deployed worker cannot reach (an `http` origin's `url`,
/// an `s3` origin's `endpoint` on this machine or a private network).
fn named_origin_findings(
    config: &Config,
    at: impl Fn(&str, &str) -> Option<LineCol>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for (name, origin) in &config.origins {
        let (field, url) = match origin {
            super::origins::Origin::Http(u) => ("url", u),
            super::origins::Origin::S3(s) => ("endpoint", &s.endpoint),
            super::origins::Origin::R2(_) => continue,
        };
        if let Some(why) = unreachable_host(url) {
            out.push(Finding {
                message: format!(
                    "origin `{name}`: field `{field}`: {:?} is {why}: a deployed worker cannot \
                     reach it",
                    url.as_str().trim_end_matches('/')
                ),
                at: at(name, field),
            });
        }
    }
    out
}

/// Why a deployed worker cannot reach `origin`'s host, if it cannot.
fn unreachable_host(origin: &url::Url) -> Option<&'static str> {
    match origin.host()? {
        Host::Domain(d) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            (d == "localhost" || d.ends_with(".localhost")).then_some("on this machine (localhost)")
        }
        Host::Ipv4(ip) => ipv4_reason(ip),
        Host::Ipv6(ip) => match ip.to_ipv4_mapped() {
            Some(v4) => ipv4_reason(v4),
            None => ipv6_reason(ip),
        },
    }
}

fn ipv4_reason(ip: Ipv4Addr) -> Option<&'static str> {
    if ip.is_loopback() || ip.is_unspecified() {
        Some("a loopback address")
    } else if ip.is_private() || ip.is_link_local() {
        Some("a private address")
    } else {
        None
    }
}

fn ipv6_reason(ip: Ipv6Addr) -> Option<&'static str> {
    if ip.is_loopback() || ip.is_unspecified() {
        Some("a loopback address")
    } else if ip.is_unique_local() || ip.is_unicast_link_local() {
        Some("a private address")
    } else {
        None
    }
}
