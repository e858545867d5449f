# edgecache — the two quick-start commands are `make dev` and `make test`.
.PHONY: setup dev test quick build check fmt bench size fuzz loadtest simulate

setup:      ## install everything a fresh machine lacks (idempotent)
	bash scripts/setup.sh

dev:        ## Django demo origin + the worker (wrangler dev) on loopback
	bash scripts/dev.sh

test:       ## every test: fmt, clippy, cargo test, build-tool check, wasm build, Django, end-to-end
	bash scripts/test.sh

quick:      ## the inner loop: fmt check, clippy (native + wasm32), native cargo test; no npm, Django or wasm build
	bash scripts/test.sh --quick

build:      ## the worker bundle in build/ (checks the config and the build tools first)
	bash scripts/build-worker.sh

check:      ## validate wrangler.toml with the edgecache CLI
	cargo run --quiet --bin edgecache -- check --config wrangler.toml

bench:      ## edgecache against its baselines: prints a table, rewrites BENCHMARKS.md
	bash scripts/bench.sh

size:       ## where the Wasm's bytes go, by crate and function (needs twiggy; results in target/size/)
	bash scripts/size.sh

fmt:
	cargo fmt

loadtest:   ## purge under load, origin requests per purge, a purge storm, the fast path vs KV only in three data centres, against KV with production's limits (loopback, ~4 min)
	bash scripts/build-worker.sh
	node tests/load/purge-under-load.mjs --seconds 20
	node tests/load/purge-stampede.mjs --seconds 10
	node tests/load/purge-storm.mjs --seconds 30
	node tests/load/purge-fast.mjs --purges 100

fuzz:       ## every fuzz target for FUZZ_SECONDS (default 60) each; see docs/fuzzing.md
	bash scripts/fuzz.sh $(FUZZ_SECONDS)

SEEDS ?= 10000
FROM ?= 0
simulate:   ## the deterministic simulator of the edge: SEEDS=N seeds from FROM=S (or SEED=S for one), a progress line; KV_ONLY=1 fast path off, SOFT=1 soft purges too, ZONE=1 the zone purge layer
	cargo run --quiet --profile sim --bin edgecache -- sim $(if $(SEED),--seed $(SEED) --verbose --trace,--seeds $(SEEDS) --from $(FROM)) $(if $(KV_ONLY),--kv-only) $(if $(SOFT),--soft) $(if $(ZONE),--zone)
