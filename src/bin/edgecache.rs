//! The `edgecache` CLI (native only). Hand-parsed arguments, no clap: each
//! subcommand is one `fn(&[String]) -> Result<(), Exit>` in `COMMANDS`.
//! Exit codes: 0 ok, 1 failure (bad config, ...), 2 usage error.

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(cli::run(&args));
}

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
#[path = "edgecache/webhook_cmd.rs"]
mod webhook_cmd;

#[cfg(not(target_arch = "wasm32"))]
#[path = "edgecache/report_cmd.rs"]
mod report_cmd;

#[cfg(not(target_arch = "wasm32"))]
#[path = "edgecache/sim_cmd.rs"]
mod sim_cmd;

#[cfg(not(target_arch = "wasm32"))]
mod cli {
    use super::{report_cmd, sim_cmd, webhook_cmd};
    use edgecache::config::{needed_secrets, Config, LineCol, WranglerError, WranglerFile};
    use edgecache::http::headers::Headers;
    use edgecache::http::method::Method;
    use edgecache::request::explain::explain;
    use edgecache::request::key::KeyRequest;

    const HELP: &str = "\
edgecache: an edge cache for APIs and their media, on Cloudflare Workers

USAGE:
    edgecache <COMMAND> [OPTIONS]

COMMANDS:
    check      Validate the EDGECACHE config in wrangler.toml (--production: and
               refuse what a deployed worker must not have)
    explain    Show the route, cache key, TTL and tags for a URL
    sign       Print Standard Webhooks headers for a purge body
    purge      Send a signed purge webhook to a worker
    simulate   Compare hit ratios of cache-key functions on an access log
    sim        Deterministic simulation of the edge: purge bounds under faults
    report     What the cache did, per route, from the worker's log lines or
               Analytics Engine (--html: with charts)
    help       Show this help (or `edgecache help <COMMAND>`)

COMMON OPTIONS:
    --config <FILE>   wrangler.toml to read (default: ./wrangler.toml)
    --env <NAME>      read [env.NAME.vars.EDGECACHE] (wrangler does not inherit
                      top-level vars into environments)
    -h, --help        Show help

EXIT CODES:
    0 ok, 1 failure (invalid config, ...), 2 usage error
";

    const CHECK_HELP: &str = "\
edgecache check [--config FILE] [--env NAME] [--production [--warn]] [--json]

Validates vars.EDGECACHE (or env.NAME.vars.EDGECACHE) and prints `ok: N routes`,
or the error (FILE:LINE:COL: ...) and exits 1. With --json, prints instead the
validated var as the worker receives it (JSON), e.g. to feed a local Miniflare.

    --production   also refuse what is valid but wrong for a deployed worker:
                   debug = true, an origin on localhost / a loopback or private
                   address, a non-https purge.api_base, a missing or placeholder
                   (all-zero) EDGECACHE_KV namespace id, a secret written in
                   [vars]; and list the secrets the config needs (this check
                   cannot read Cloudflare's secrets: compare with
                   `npx wrangler secret list`). Implied by --env production.
    --warn         with --production: print the findings as warnings, exit 0

scripts/build-worker.sh (wrangler's [build] command) runs this before every
build: --production for `wrangler deploy` and `wrangler versions upload`.
";

    const EXPLAIN_HELP: &str = "\
edgecache explain [--config FILE] [--env NAME] [-X METHOD] [-H 'Name: value']...
                  [--user-secret SECRET] URL

Prints {route, key, ttl_seconds, tags, cacheable, reason} as JSON.
    -X, --method METHOD     request method (default GET)
    -H, --header 'N: V'     a request header (repeatable)
    --user-secret SECRET    HMAC secret for per-user routes
";

    const SIMULATE_HELP: &str = "\
edgecache simulate [--config FILE] [--env NAME] [--capacity N] [--default-ttl DUR]
                   [--host HOST] [--step SECS] [--json] LOG

Replays an access log through three cache-key functions (raw URL, URL with
sorted query, edgecache's keys) under one LRU+TTL cache model and prints the
hit ratio and distinct keys of each. LOG is a combined (or common) log, a
Django runserver log (`[30/Nov/2026 14:02:03] \"GET /api/ HTTP/1.1\" 200 1234`;
its other lines are skipped), or one URL per line. Authenticated requests
(authuser field not `-`) and non-GET/HEAD requests are uncacheable for all three. TTL: the matching route's, else
--default-ttl.
    --capacity N        entries the cache holds (default 10000)
    --default-ttl DUR   TTL outside every route (default 5m)
    --host HOST         host for log targets that are only a path (default api.example.com)
    --step SECS         seconds between requests of a URL-per-line log (default 1)
    --json              print the stats as JSON
";

    /// How a command ends when it does not succeed.
    pub(crate) enum Exit {
        Usage(String),
        Failure(String),
    }

    type Command = fn(&[String]) -> Result<(), Exit>;

    /// Subcommands: add a line here (and a help text) to add one.
    const COMMANDS: &[(&str, Command, &str)] = &[
        ("check", check, CHECK_HELP),
        ("explain", explain_cmd, EXPLAIN_HELP),
        ("sign", webhook_cmd::sign_cmd, webhook_cmd::SIGN_HELP),
        ("purge", webhook_cmd::purge_cmd, webhook_cmd::PURGE_HELP),
        ("simulate", simulate_cmd, SIMULATE_HELP),
        ("report", report_cmd::report_cmd, report_cmd::REPORT_HELP),
        ("sim", sim_cmd::sim_cmd, sim_cmd::SIM_HELP),
    ];

    pub fn run(args: &[String]) -> i32 {
        let Some(cmd) = args.first() else {
            eprint!("{HELP}");
            return 2;
        };
        match cmd.as_str() {
            "-h" | "--help" => {
                print!("{HELP}");
                return 0;
            }
            "help" => {
                let text = args
                    .get(1)
                    .and_then(|c| COMMANDS.iter().find(|(n, _, _)| n == c))
                    .map_or(HELP, |(_, _, h)| *h);
                print!("{text}");
                return 0;
            }
            _ => {}
        }
        let Some((_, f, help)) = COMMANDS.iter().find(|(n, _, _)| n == cmd) else {
            eprintln!("edgecache: unknown command {cmd:?}\n\n{HELP}");
            return 2;
        };
        if args[1..].iter().any(|a| a == "-h" || a == "--help") {
            print!("{help}");
            return 0;
        }
        match f(&args[1..]) {
            Ok(()) => 0,
            Err(Exit::Failure(m)) => {
                eprintln!("error: {m}");
                1
            }
            Err(Exit::Usage(m)) => {
                eprintln!("edgecache {cmd}: {m}\n\n{help}");
                2
            }
        }
    }

    /// Options shared by subcommands that read the config.
    struct Common {
        config: String,
        env: Option<String>,
    }

    /// Splits `--config`/`--env` off; returns the remaining arguments.
    fn common(args: &[String]) -> Result<(Common, Vec<String>), Exit> {
        let mut c = Common {
            config: "wrangler.toml".into(),
            env: None,
        };
        let mut rest = Vec::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--config" => c.config = value(&mut it, a)?,
                "--env" => c.env = Some(value(&mut it, a)?),
                _ => rest.push(a.clone()),
            }
        }
        Ok((c, rest))
    }

    pub(crate) fn value<'a>(
        it: &mut impl Iterator<Item = &'a String>,
        flag: &str,
    ) -> Result<String, Exit> {
        it.next()
            .cloned()
            .ok_or_else(|| Exit::Usage(format!("{flag} needs a value")))
    }

    /// `FILE:LINE:COL: message`, then the line with a caret under the column.
    fn snippet(file: &str, at: Option<&LineCol>, message: &str) -> String {
        let Some(p) = at else {
            return format!("{file}: {message}");
        };
        let pad = " ".repeat(p.line.to_string().len());
        let caret = " ".repeat(p.column.saturating_sub(1));
        format!(
            "{file}:{}:{}: {message}\n{pad} |\n{} | {}\n{pad} | {caret}^",
            p.line, p.column, p.line, p.text
        )
    }

    fn located(file: &str, e: &WranglerError) -> Exit {
        Exit::Failure(snippet(file, e.at.as_deref(), &e.error.to_string()))
    }

    fn read(c: &Common) -> Result<String, Exit> {
        std::fs::read_to_string(&c.config)
            .map_err(|e| Exit::Failure(format!("cannot read {}: {e}", c.config)))
    }

    fn load(c: &Common) -> Result<Config, Exit> {
        let text = read(c)?;
        WranglerFile::parse(&text, c.env.as_deref())
            .and_then(|f| f.config())
            .map_err(|e| located(&c.config, &e))
    }

    fn check(args: &[String]) -> Result<(), Exit> {
        let (c, rest) = common(args)?;
        let flag = |f: &str| rest.iter().any(|a| a == f);
        let (json, warn) = (flag("--json"), flag("--warn"));
        let production = flag("--production") || c.env.as_deref() == Some("production");
        let known = ["--json", "--production", "--warn"];
        if let Some(extra) = rest.iter().find(|a| !known.contains(&a.as_str())) {
            return Err(Exit::Usage(format!("unexpected argument {extra:?}")));
        }
        let text = read(&c)?;
        let file =
            WranglerFile::parse(&text, c.env.as_deref()).map_err(|e| located(&c.config, &e))?;
        let config = file.config().map_err(|e| located(&c.config, &e))?;
        if json {
            let var = file.var_json().map_err(|e| located(&c.config, &e))?;
            println!("{var}");
            return Ok(());
        }
        let n = config.routes.len();
        println!("ok: {n} route{}", if n == 1 { "" } else { "s" });
        if production {
            production_report(&c, &file, &config, warn)?;
        }
        Ok(())
    }

    /// Prints the production findings and the secrets to verify; fails on a
    /// finding unless `warn`.
    fn production_report(
        c: &Common,
        file: &WranglerFile,
        config: &Config,
        warn: bool,
    ) -> Result<(), Exit> {
        let findings = file.production_findings(config);
        println!("secrets this config needs (set: npx wrangler secret put NAME; this check cannot");
        let env = c.env.as_ref().map(|e| format!(" --env {e}"));
        println!(
            "read them: compare with npx wrangler secret list{}):",
            env.unwrap_or_default()
        );
        for s in needed_secrets(config) {
            let req = if s.required { "required" } else { "optional" };
            println!("    {:<26}{req}: {}", s.name, s.why);
        }
        if findings.is_empty() {
            println!("production: no hazards found");
            return Ok(());
        }
        let level = if warn { "warning" } else { "error" };
        for f in &findings {
            eprintln!("{level}: {}", snippet(&c.config, f.at.as_ref(), &f.message));
        }
        let n = findings.len();
        let summary = format!("{n} production hazard{}", if n == 1 { "" } else { "s" });
        if warn {
            eprintln!("warning: {summary} (--warn: not refused)");
            return Ok(());
        }
        Err(Exit::Failure(summary))
    }

    fn explain_cmd(args: &[String]) -> Result<(), Exit> {
        let (c, rest) = common(args)?;
        let mut headers = Headers::new();
        let mut secret: Option<String> = None;
        let mut method = "GET".to_string();
        let mut url: Option<String> = None;
        let mut it = rest.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "-H" | "--header" => {
                    let h = value(&mut it, a)?;
                    let (n, v) = h
                        .split_once(':')
                        .ok_or_else(|| Exit::Usage(format!("header {h:?} is not 'Name: value'")))?;
                    headers.append(n.trim(), v.trim());
                }
                "--user-secret" => secret = Some(value(&mut it, a)?),
                "-X" | "--method" => method = value(&mut it, a)?,
                s if s.starts_with('-') => {
                    return Err(Exit::Usage(format!("unknown option {s:?}")))
                }
                _ if url.is_some() => {
                    return Err(Exit::Usage(format!("unexpected argument {a:?}")))
                }
                _ => url = Some(a.clone()),
            }
        }
        let url = url.ok_or_else(|| Exit::Usage("missing URL".into()))?;
        let config = load(&c)?;
        // As typed: methods are case-sensitive (`-X get` is not GET).
        let method = Method::parse(&method);
        let req = KeyRequest {
            method: &method,
            url: &url,
            headers: &headers,
            user_secret: secret.as_deref().map(str::as_bytes),
        };
        let e = explain(&config, &req);
        let json = serde_json::to_string_pretty(&e).map_err(|e| Exit::Failure(e.to_string()))?;
        println!("{json}");
        Ok(())
    }

    fn simulate_cmd(args: &[String]) -> Result<(), Exit> {
        use edgecache::simulate::{render_table, simulate, KeyFunction, LogOptions, SimOptions};
        let (c, rest) = common(args)?;
        let mut sim = SimOptions::default();
        let mut log_opts = LogOptions::default();
        let mut json = false;
        let mut path: Option<String> = None;
        let number = |v: String, flag: &str| {
            v.parse::<u64>()
                .map_err(|_| Exit::Usage(format!("{flag}: {v:?} is not a number")))
        };
        let mut it = rest.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--capacity" => sim.capacity = number(value(&mut it, a)?, a)? as usize,
                "--default-ttl" => {
                    let v = value(&mut it, a)?;
                    sim.default_ttl = edgecache::config::duration::parse_duration(&v)
                        .map_err(|e| Exit::Usage(format!("{a}: {e}")))?;
                }
                "--host" => log_opts.host = value(&mut it, a)?,
                "--step" => log_opts.synthetic_step = number(value(&mut it, a)?, a)?,
                "--json" => json = true,
                s if s.starts_with('-') => {
                    return Err(Exit::Usage(format!("unknown option {s:?}")))
                }
                _ if path.is_some() => {
                    return Err(Exit::Usage(format!("unexpected argument {a:?}")))
                }
                _ => path = Some(a.clone()),
            }
        }
        let path = path.ok_or_else(|| Exit::Usage("missing LOG".into()))?;
        let config = load(&c)?;
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Exit::Failure(format!("cannot read {path}: {e}")))?;
        let log = edgecache::simulate::read_log(&text, &log_opts)
            .map_err(|e| Exit::Failure(format!("{path}: {e}")))?;
        let skipped = match log.skipped {
            0 => String::new(),
            n => format!(", {n} other lines skipped"),
        };
        eprintln!(
            "{path}: {} requests read as a {}{skipped}",
            log.entries.len(),
            log.format.name()
        );
        let stats = simulate(&config, &log.entries, &KeyFunction::ALL, &sim);
        if json {
            let out =
                serde_json::to_string_pretty(&stats).map_err(|e| Exit::Failure(e.to_string()))?;
            println!("{out}");
        } else {
            print!("{}", render_table(&stats));
        }
        Ok(())
    }
}
