//! `cargo xtask plugins`: builds every plugin crate in `plugins/` for
//! `wasm32-unknown-unknown`, turns each core module into a component, and
//! puts `<name>.wasm` beside its `plugin.toml` under `target/plugins/`.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{root, run};

const TARGET: &str = "wasm32-unknown-unknown";
const DEBIAN_PACKAGES: &[&str] = &["rustc-web", "cargo-web", "rust-web-src", "lld-19"];

/// How to build for wasm32.
enum Toolchain {
    /// rustup's toolchain with the wasm32 standard library installed.
    Rustup,
    /// Debian's rustc-web with `-Z build-std` (see DEVELOPERS.md).
    Debian,
}

fn rustup_has_target() -> bool {
    let Ok(out) = Command::new("rustc").args(["--print", "sysroot"]).output() else {
        return false;
    };
    let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let lib = Path::new(&sysroot)
        .join("lib/rustlib")
        .join(TARGET)
        .join("lib");
    fs::read_dir(lib)
        .map(|entries| {
            entries.flatten().any(|e| {
                let n = e.file_name();
                let n = n.to_string_lossy();
                n.starts_with("libstd-") && n.ends_with(".rlib")
            })
        })
        .unwrap_or(false)
}

fn debian_ready() -> bool {
    Path::new("/usr/bin/rustc").exists()
        && Path::new("/usr/bin/cargo").exists()
        && which("wasm-ld-19")
        && Command::new("/usr/bin/rustc")
            .args(["--print", "sysroot"])
            .output()
            .map(|o| {
                let root = String::from_utf8_lossy(&o.stdout).trim().to_string();
                Path::new(&root)
                    .join("lib/rustlib/src/rust/library")
                    .exists()
            })
            .unwrap_or(false)
}

fn which(cmd: &str) -> bool {
    env::var_os("PATH")
        .map(|paths| env::split_paths(&paths).any(|p| p.join(cmd).is_file()))
        .unwrap_or(false)
}

fn is_root_on_debian() -> bool {
    Path::new("/etc/debian_version").exists()
        && Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false)
}

fn pick_toolchain() -> Result<Toolchain, String> {
    // HEARTH_WASM_TOOLCHAIN=rustup|debian forces a route (to test both).
    match env::var("HEARTH_WASM_TOOLCHAIN").as_deref() {
        Ok("rustup") => return Ok(Toolchain::Rustup),
        Ok("debian") if debian_ready() => return Ok(Toolchain::Debian),
        Ok("debian") => {
            return Err(format!(
                "HEARTH_WASM_TOOLCHAIN=debian, but Debian's toolchain is not installed:\n\n    sudo apt-get install -y {}",
                DEBIAN_PACKAGES.join(" ")
            ));
        }
        _ => {}
    }
    if rustup_has_target() {
        return Ok(Toolchain::Rustup);
    }
    if which("rustup") {
        eprintln!(
            "xtask: the {TARGET} standard library is missing; trying `rustup target add {TARGET}`"
        );
        let ok = Command::new("rustup")
            .args(["target", "add", TARGET])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if ok && rustup_has_target() {
            return Ok(Toolchain::Rustup);
        }
    }
    if debian_ready() {
        return Ok(Toolchain::Debian);
    }
    if is_root_on_debian() {
        eprintln!(
            "xtask: installing Debian's wasm toolchain: {}",
            DEBIAN_PACKAGES.join(" ")
        );
        let mut c = Command::new("apt-get");
        c.args(["install", "-y", "--no-install-recommends"])
            .args(DEBIAN_PACKAGES)
            .env("DEBIAN_FRONTEND", "noninteractive");
        if run("apt-get install", c).is_err() {
            let mut u = Command::new("apt-get");
            u.arg("update");
            run("apt-get update", u)?;
            let mut c = Command::new("apt-get");
            c.args(["install", "-y", "--no-install-recommends"])
                .args(DEBIAN_PACKAGES)
                .env("DEBIAN_FRONTEND", "noninteractive");
            run("apt-get install", c)?;
        }
        if debian_ready() {
            return Ok(Toolchain::Debian);
        }
    }
    Err(format!(
        "cannot build for {TARGET}. Either\n\
         \n    rustup target add {TARGET}\n\
         \nor, on Debian (see DEVELOPERS.md):\n\
         \n    sudo apt-get install -y {}\n\
         \nthen run `cargo xtask plugins` again.",
        DEBIAN_PACKAGES.join(" ")
    ))
}

/// Plugin crates: folders under `plugins/` (and `plugins/test-fixtures/`)
/// holding a `plugin.toml`.
fn plugin_crates(plugins: &Path) -> Result<Vec<(PathBuf, bool)>, String> {
    let mut out = Vec::new();
    for (dir, fixture) in [
        (plugins.to_path_buf(), false),
        (plugins.join("test-fixtures"), true),
    ] {
        let entries = fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for e in entries.flatten() {
            let p = e.path();
            if p.join("plugin.toml").is_file() && p.join("Cargo.toml").is_file() {
                out.push((p, fixture));
            }
        }
    }
    out.sort();
    Ok(out)
}

fn toml_string(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let l = l.trim();
        let rest = l.strip_prefix(key)?.trim_start().strip_prefix('=')?.trim();
        Some(rest.trim_matches('"').to_string())
    })
}

pub fn plugins() -> Result<(), String> {
    let root = root();
    let plugins = root.join("plugins");
    let toolchain = pick_toolchain()?;
    let target_dir = root.join("target/plugins-build");
    let mut c = match toolchain {
        Toolchain::Rustup => {
            let mut c = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
            c.args(["build", "--release", "--target", TARGET]);
            // Flags for the host toolchain must not leak into this build.
            c.env_remove("RUSTFLAGS").env_remove("RUSTC_WRAPPER");
            c
        }
        Toolchain::Debian => {
            let mut c = Command::new("/usr/bin/cargo");
            c.args([
                "build",
                "--release",
                "--target",
                TARGET,
                "-Z",
                "build-std=std,panic_abort",
            ])
            .env("RUSTC", "/usr/bin/rustc")
            .env("RUSTC_BOOTSTRAP", "1")
            .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER", "wasm-ld-19")
            .env_remove("RUSTUP_TOOLCHAIN")
            .env_remove("CARGO");
            c
        }
    };
    c.current_dir(&plugins).arg("--target-dir").arg(&target_dir);
    run("build plugins for wasm32-unknown-unknown", c)?;

    let out_dir = root.join("target/plugins");
    let fixture_dir = root.join("target/plugins-test");
    for (dir, fixture) in plugin_crates(&plugins)? {
        let cargo_toml = fs::read_to_string(dir.join("Cargo.toml")).map_err(|e| e.to_string())?;
        let manifest = fs::read_to_string(dir.join("plugin.toml")).map_err(|e| e.to_string())?;
        let krate = toml_string(&cargo_toml, "name")
            .ok_or_else(|| format!("{}: no package name", dir.display()))?;
        let name = toml_string(&manifest, "name")
            .ok_or_else(|| format!("{}/plugin.toml: no name", dir.display()))?;
        let core_path = target_dir
            .join(TARGET)
            .join("release")
            .join(format!("{}.wasm", krate.replace('-', "_")));
        let core = fs::read(&core_path).map_err(|e| format!("{}: {e}", core_path.display()))?;
        let component = wit_component::ComponentEncoder::default()
            .module(&core)
            .and_then(|e| e.validate(true).encode())
            .map_err(|e| format!("{name}: could not make a component: {e:#}"))?;
        let dest = if fixture { &fixture_dir } else { &out_dir }.join(&name);
        fs::create_dir_all(&dest).map_err(|e| format!("{}: {e}", dest.display()))?;
        fs::write(dest.join(format!("{name}.wasm")), &component).map_err(|e| e.to_string())?;
        fs::write(dest.join("plugin.toml"), manifest).map_err(|e| e.to_string())?;
        eprintln!(
            "xtask: {:<14} {:>7} bytes -> {}",
            name,
            component.len(),
            dest.strip_prefix(&root).unwrap_or(&dest).display()
        );
    }
    Ok(())
}
