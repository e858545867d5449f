//! The `edgecache` CLI (native only).
#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("edgecache: not yet");
    std::process::exit(2);
}

#[cfg(target_arch = "wasm32")]
fn main() {}
