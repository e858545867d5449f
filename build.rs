//! Linker flags for the Worker's Wasm, nothing else.
//!
//! `strip = true` (Cargo.toml, release) makes the linker drop every custom
//! section, among them `target_features`, which wasm-bindgen reads to learn
//! which Wasm features the module uses; without it wasm-bindgen guesses and
//! warns on every build. wasm-ld's `--keep-section` keeps that one section
//! (168 bytes) through the strip; the symbol names still go.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo:rustc-link-arg-cdylib=--keep-section=target_features");
    }
}
