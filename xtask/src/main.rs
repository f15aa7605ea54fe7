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
    // PostgreSQL is a feature of the engine (forwarded by the plugin host
    // and the web crate). With a server (HEARTH_TEST_PG; `.ci/run` starts
    // one with `.ci/pg-start`) everything is built once with the feature;
    // the engine's, plugin host's and web suites run on PostgreSQL
    // (HEARTH_TEST_BACKEND=postgres: a fresh database per fixture), then
    // every suite runs on SQLite.
    let pg = std::env::var_os("HEARTH_TEST_PG").is_some();
    if !pg && std::env::var_os("CI").is_some() {
        return Err(
            "HEARTH_TEST_PG is not set: CI runs the PostgreSQL suites (.ci/pg-start)".into(),
        );
    }
    let features: &[&str] = if pg {
        &["--features", PG_FEATURES]
    } else {
        // (Without PostgreSQL: the engine's other optional backend still.)
        eprintln!(
            "xtask: HEARTH_TEST_PG is not set; the suites run on SQLite only \
             (start a server: export HEARTH_TEST_PG=\"$(.ci/pg-start /tmp/hearth-pg)\")"
        );
        &["--features", "hearth/object-store"]
    };
    cargo_step(
        "cargo clippy (postgres)",
        &format!("clippy --workspace --all-targets --features {PG_FEATURES} -- -D warnings"),
    )?;
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
    // (With the PostgreSQL feature when the suites have it: the test
    // builds the server the same way.)
    let mut c = cargo();
    c.args([
        "build",
        "--release",
        "-p",
        "hearth-web",
        "--example",
        "crash_server",
    ]);
    if pg {
        c.args(["--features", "postgres"]);
    }
    run("cargo build --release (crash server)", c)?;
    // Doc tests first: nextest does not run them, and the runner's summary
    // should be the last thing printed.
    let mut c = cargo();
    c.args(["test", "--workspace", "--doc"]).args(features);
    run("cargo test --doc", c)?;
    let nextest = has_subcommand("nextest");
    if !nextest {
        eprintln!("xtask: cargo-nextest not installed; using cargo test");
    }
    let suites = |packages: &[&str], features: &[&str]| {
        let mut c = cargo();
        if nextest {
            c.args(["nextest", "run", "--no-fail-fast"]);
        } else {
            c.args(["test", "--lib", "--bins", "--tests", "--no-fail-fast"]);
        }
        if packages.is_empty() {
            c.arg("--workspace");
        }
        for p in packages {
            c.args(["-p", p]);
        }
        c.args(features);
        c
    };
    if pg {
        let mut c = suites(
            &["hearth", "hearth-wasm", "hearth-web"],
            &["--features", PG_SUITE_FEATURES],
        );
        c.env("HEARTH_TEST_BACKEND", "postgres");
        if nextest {
            // The soak test measures a SQLite file of its own; on
            // PostgreSQL it would only repeat itself.
            c.args(["-E", "not binary(soak)"]);
        }
        run("tests on PostgreSQL", c)?;
    }
    // Plugin API 0.1 still runs: the plugin host's suites again, with the
    // first-party plugins and the hostile fixture as built for 0.1
    // (crates/hearth-wasm/tests/fixtures/api-0.1).
    // (Only this package's features: cargo refuses features of packages
    // not selected.)
    // (hearth/object-store as above, so the engine is not built again.)
    let features_0_1: &[&str] = if pg {
        &["--features", "hearth-wasm/postgres,hearth/object-store"]
    } else {
        &["--features", "hearth/object-store"]
    };
    let mut c = suites(&["hearth-wasm"], features_0_1);
    c.env("HEARTH_PLUGIN_API", "0.1");
    run("plugin host tests with the API 0.1 builds", c)?;
    run("tests", suites(&[], features))?;
    Ok(())
}

/// The features that build every crate with the PostgreSQL backend (and
/// the engine with uploads in an object store, tested on both backends).
const PG_FEATURES: &str = "hearth/postgres,hearth/object-store,hearth-wasm/postgres,hearth-web/postgres,support-community/postgres,hearth-benches/postgres";

/// The same for the three crates whose suites run on PostgreSQL (cargo
/// refuses features of packages not selected; the crates build the same).
const PG_SUITE_FEATURES: &str =
    "hearth/postgres,hearth/object-store,hearth-wasm/postgres,hearth-web/postgres";

/// Runs `cargo <args>` (split at spaces) as one named step.
fn cargo_step(label: &str, args: &str) -> Result<(), String> {
    let mut c = cargo();
    c.args(args.split_whitespace());
    run(label, c)
}

fn demo(extra: &[String]) -> Result<(), String> {
    plugins::plugins()?;
    let mut c = cargo();
    c.args(["run", "--release", "-p", "support-community"]);
    // `--database postgres://…` or `migrate --to postgres://…`.
    if extra.iter().any(|a| a.starts_with("postgres")) {
        c.args(["--features", "postgres"]);
    }
    c.arg("--").args(extra);
    run("cargo run -p support-community", c)
}
