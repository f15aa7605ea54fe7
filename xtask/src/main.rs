//! Project automation: `cargo xtask test`, `cargo xtask demo`,
//! `cargo xtask plugins`.
//!
//! Its one dependency, `wit-component`, turns plugin modules into
//! components in-process (no `wasm-tools` needed).

mod plugins;

use std::env;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

const USAGE: &str = "usage: cargo xtask <command>

commands:
  test     build the plugins, check formatting, run clippy, run every test
  demo     build the plugins, then run the support-community demo server
  plugins  build plugins/ for wasm32 into target/plugins/<name>/
";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("demo") => demo(&args[1..]),
        Some("plugins") => plugins::plugins(),
        Some("-h" | "--help" | "help") | None => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command {other:?}\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn cargo() -> Command {
    let mut c = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    c
}

fn run(step: &str, mut cmd: Command) -> Result<(), String> {
    eprintln!("xtask: {step}");
    let status = cmd
        .status()
        .map_err(|e| format!("{step}: could not start: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{step} failed ({status})"))
    }
}

fn has_subcommand(name: &str) -> bool {
    cargo()
        .args([name, "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn test() -> Result<(), String> {
    plugins::plugins()?;
    if has_subcommand("fmt") {
        let mut c = cargo();
        c.args(["fmt", "--all", "--", "--check"]);
        run("cargo fmt --check", c)?;
    } else {
        eprintln!("xtask: rustfmt not installed; run `rustup component add rustfmt`");
    }
    if has_subcommand("clippy") {
        let mut c = cargo();
        c.args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]);
        run("cargo clippy", c)?;
    } else {
        eprintln!("xtask: clippy not installed; run `rustup component add clippy`");
    }
    // The PostgreSQL backend is a feature of the engine: lint it, and run
    // its tests against the server named by HEARTH_TEST_PG (`.ci/run`
    // starts one with `.ci/pg-start`; without it they skip, except in CI).
    cargo_step(
        "cargo clippy (hearth, postgres)",
        "clippy -p hearth --features postgres --all-targets -- -D warnings",
    )?;
    if std::env::var_os("HEARTH_TEST_PG").is_some() {
        // Every engine integration test again, each on a fresh database.
        let mut c = cargo();
        c.args([
            "test",
            "-p",
            "hearth",
            "--features",
            "postgres",
            "--lib",
            "--tests",
        ])
        .env("HEARTH_TEST_BACKEND", "postgres");
        run("cargo test (hearth on PostgreSQL)", c)?;
    } else if std::env::var_os("CI").is_some() {
        return Err(
            "HEARTH_TEST_PG is not set: CI runs the PostgreSQL suites (.ci/pg-start)".into(),
        );
    } else {
        eprintln!(
            "xtask: HEARTH_TEST_PG is not set; the engine's suites run on SQLite only \
             (start a server: export HEARTH_TEST_PG=\"$(.ci/pg-start /tmp/hearth-pg)\")"
        );
    }
    // The plugins' own unit tests run natively, against the SDK's FakeHost.
    let mut c = cargo();
    c.args([
        "test",
        "--manifest-path",
        "plugins/Cargo.toml",
        "--workspace",
        "--lib",
    ]);
    run("cargo test (plugins, native)", c)?;
    // The crash test SIGKILLs a release server (tests/crash.rs builds it
    // too; building here keeps the build out of the test's time).
    cargo_step(
        "cargo build --release (crash server)",
        "build --release -p hearth-web --example crash_server",
    )?;
    // Doc tests first: nextest does not run them, and the runner's summary
    // should be the last thing printed.
    let mut c = cargo();
    c.args(["test", "--workspace", "--doc"]);
    run("cargo test --doc", c)?;
    if has_subcommand("nextest") {
        let mut c = cargo();
        c.args(["nextest", "run", "--workspace", "--no-fail-fast"]);
        run("cargo nextest run", c)?;
    } else {
        eprintln!("xtask: cargo-nextest not installed; using cargo test");
        let mut c = cargo();
        c.args(["test", "--workspace", "--lib", "--bins", "--tests"]);
        run("cargo test", c)?;
    }
    Ok(())
}

/// Runs `cargo <args>` (split at spaces) as one named step.
fn cargo_step(label: &str, args: &str) -> Result<(), String> {
    let mut c = cargo();
    c.args(args.split_whitespace());
    run(label, c)
}

fn demo(extra: &[String]) -> Result<(), String> {
    plugins::plugins()?;
    let mut c = cargo();
    c.args(["run", "--release", "-p", "support-community", "--"])
        .args(extra);
    run("cargo run -p support-community", c)
}
