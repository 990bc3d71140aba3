//! The configuration file (`keel.toml`), through the same loading and checks `keel serve` runs
//! at start: any text must give a configuration or an error, never a panic.
#![no_main]
#![allow(dead_code)]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

#[path = "../../crates/keel/src/config.rs"]
mod config;

fn file() -> &'static std::path::Path {
    static PATH: OnceLock<std::path::PathBuf> = OnceLock::new();
    PATH.get_or_init(|| std::env::temp_dir().join(format!("keel-fuzz-config-{}.toml", std::process::id())))
}

fuzz_target!(|data: &[u8]| {
    if std::fs::write(file(), data).is_err() {
        return;
    }
    let o = config::Overrides { config: Some(file().to_path_buf()), ..Default::default() };
    if let Ok(c) = config::Config::load(&o) {
        // A configuration that loads prints without its secrets and names a usable address.
        let _ = format!("{c:?}");
    }
});
