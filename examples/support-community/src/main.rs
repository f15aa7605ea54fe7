//! `cargo run -p support-community [-- --fresh] [--port N] [--questions N]
//! [--data FILE] [--no-rate-limit] [--api-key-file FILE] [--seed-only]`: seeds
//! `./data/support-community.db` on first run and serves it on 127.0.0.1.
//!
//! `--no-anon-cache` renders every guest request (for measuring);
//! `--no-rate-limit` lifts the per-address limit (load tests from one
//! address); `--api-key-file` writes a fresh global API key there (for
//! scripts and benchmarks; the key acts as whoever `Api-Username` names).

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use support_community::{
    DEMO_PASSWORD, Options, SIGN_INS, SLUG, config, is_seeded, open, plugins, seed, web_with,
};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("support-community: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = arg("--port")
        .or_else(|| std::env::var("PORT").ok())
        .map(|p| p.parse())
        .transpose()
        .map_err(|e| format!("--port: {e}"))?
        .unwrap_or(3000);
    let data = arg("--data").unwrap_or_else(|| "data/support-community.db".into());
    let path = Path::new(&data);
    if std::env::args().any(|a| a == "--fresh") {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let fresh = !path.exists() || !is_seeded(&open(path)?);
    if fresh {
        let mut opts = Options::default();
        if let Some(q) = arg("--questions") {
            opts.questions = q.parse().map_err(|e| format!("--questions: {e}"))?;
        }
        let started = std::time::Instant::now();
        let mut last = String::new();
        let seeded = seed(path, opts, &mut |step, done, total| {
            let pct = done * 100 / total.max(1);
            let line = format!("seeding {step}: {pct}%");
            if line != last {
                eprint!("\rseeding {step}: {done}/{total} ({pct}%)   ");
                let _ = std::io::stderr().flush();
                last = line;
            }
        })?;
        eprintln!(
            "\nseeded {} topics and {} posts in {:.1} s",
            seeded.topics,
            seeded.posts,
            started.elapsed().as_secs_f64()
        );
    }
    let forum = Arc::new(open(path)?);
    let community = forum.community_by_slug(&hearth::Actor::System, SLUG)?.id;
    let origin = format!("http://127.0.0.1:{port}");
    let host = plugins(&forum, community, &origin)?;
    if std::env::args().any(|a| a == "--seed-only") {
        // Seeded, and the plugins have caught up with the event log.
        return Ok(());
    }
    let _worker = match &host {
        Some(h) => Some(h.start_worker(std::time::Duration::from_secs(5))?),
        None => {
            eprintln!(
                "plugins not built: the escape hatch, leaderboard and badges are off.\n\
                 Run `cargo xtask plugins` (or `cargo xtask demo`) to build them."
            );
            None
        }
    };
    let mut config = config(community, Some(origin.clone()));
    if std::env::args().any(|a| a == "--no-rate-limit") {
        config.limits.per_ip = None;
    }
    if std::env::args().any(|a| a == "--no-anon-cache") {
        config.anonymous_cache = None;
    }
    let web = web_with(forum, host, config)?;
    if let Some(file) = arg("--api-key-file") {
        let (key, _) = web.create_api_key(&hearth::Actor::System, None, "--api-key-file")?;
        std::fs::write(&file, key)?;
        println!("A global API key is in {file}.");
    }
    let router = web.router();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("Acme Support Community: {origin}/");
    println!("Sign in with any of these (password: {DEMO_PASSWORD}):");
    for (user, who) in SIGN_INS {
        println!("  {user:<14} {who}");
    }
    hearth_web::serve(listener, router).await?;
    Ok(())
}
