//! Measures the plugin host on a generated database: compiling versus
//! loading a cached plugin, event throughput through the leaderboard
//! plugin (checked against the engine's own ledger), and how fast a
//! runaway plugin is stopped.
//!
//! `cargo xtask plugins && cargo run --release -p hearth-benches --bin plugin-report -- --posts 20000`
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hearth::{Actor, EventId, Forum, Period};
use hearth_benches::{data_dir, fixture};
use hearth_wasm::{Capability, Hook, HostConfig, PluginHost};

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn plugin(name: &str, fixture: bool) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target")
        .join(if fixture { "plugins-test" } else { "plugins" })
        .join(name)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let posts = arg("--posts", 20_000);
    let members = arg("--members", posts / 16) as usize;
    let fx = fixture(&data_dir(), posts, members);
    // Work on a copy: the host writes its state into the database.
    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("forum.db");
    {
        let src = Forum::open(&fx.path).unwrap();
        drop(src);
    }
    std::fs::copy(&fx.path, &db).unwrap();
    let forum = Arc::new(Forum::open(&db).unwrap());
    let c = fx.community;
    let cache = work.path().join("cache");
    let config = HostConfig {
        cache_dir: Some(cache.clone()),
        event_batch: arg("--batch", HostConfig::default().event_batch as u64) as usize,
        ..HostConfig::default()
    };
    println!(
        "Database: {} posts, {} members (copy of {})\n",
        posts,
        members,
        fx.path.display()
    );
    println!("| measurement | result | target |");
    println!("|---|---|---|");

    let host = PluginHost::new(forum.clone(), config.clone()).unwrap();
    let compiled = host.install_dir(plugin("leaderboard", false)).unwrap();
    assert!(compiled.compiled);
    let mut loads = Vec::new();
    for _ in 0..5 {
        let again = PluginHost::new(forum.clone(), config.clone()).unwrap();
        let s = again.status("leaderboard").unwrap();
        assert!(!s.compiled);
        loads.push(s.load_time);
    }
    loads.sort();
    println!(
        "| load leaderboard: compile / from cache (median of 5) | {} / {} | cached ≤ 5 ms |",
        ms(compiled.load_time),
        ms(loads[2])
    );

    host.enable(
        &Actor::System,
        c,
        "leaderboard",
        &[
            Capability::Kv,
            Capability::Read,
            Capability::Settings,
            Capability::Now,
            Capability::Log,
        ],
    )
    .unwrap();
    host.configure(
        &Actor::System,
        c,
        "leaderboard",
        BTreeMap::from([("top".to_string(), serde_json::json!(100))]),
    )
    .unwrap();
    let mut events = 0u64;
    let mut rewards = 0u64;
    let mut after = EventId(0);
    loop {
        let page = forum.events_after(&Actor::System, c, after, 1000).unwrap();
        let Some(last) = page.last() else { break };
        after = last.id;
        events += page.len() as u64;
        rewards += page
            .iter()
            .filter(|e| e.kind.as_str().starts_with("reward."))
            .count() as u64;
    }
    let started = Instant::now();
    let report = host.deliver_events().unwrap();
    let took = started.elapsed();
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    println!(
        "| replay the whole log through leaderboard ({events} events, {rewards} rewards, batches of {}) | {:.0} events/s ({}) | ≥ 50,000 events/s |",
        config.event_batch,
        events as f64 / took.as_secs_f64(),
        ms(took)
    );
    // The plugin's all-time board equals the engine's ledger.
    let r = host
        .route(
            &Actor::System,
            c,
            "leaderboard",
            "/json",
            &[],
            &Default::default(),
        )
        .unwrap()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let board: Vec<(i64, i64)> = doc["all-time"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["member"].as_i64().unwrap(), r["points"].as_i64().unwrap()))
        .collect();
    let engine: Vec<(i64, i64)> = forum
        .leaderboard(&Actor::System, c, Period::AllTime, 100)
        .unwrap()
        .into_iter()
        .map(|s| (s.user.id.0, s.points))
        .collect();
    let n = board.len().min(engine.len());
    assert_eq!(board[..n], engine[..n], "the plugin agrees with the ledger");
    println!("| leaderboard top 100 equals the engine's ledger | yes | |");

    host.install_dir(plugin("hostile", true)).unwrap();
    host.enable(
        &Actor::System,
        c,
        "hostile",
        &[Capability::Settings, Capability::Log],
    )
    .unwrap();
    host.configure(
        &Actor::System,
        c,
        "hostile",
        BTreeMap::from([("mode".to_string(), serde_json::json!("loop"))]),
    )
    .unwrap();
    let mut stops = Vec::new();
    for _ in 0..30 {
        let run = host
            .run_hook(
                &Actor::Guest,
                c,
                "hostile",
                Hook::Render,
                &serde_json::json!({"slot": "sidebar"}),
            )
            .unwrap();
        assert!(run.result.is_err());
        stops.push(run.usage.elapsed);
        // It is disabled after 5 failures in a row; keep measuring.
        host.reenable("hostile").unwrap();
    }
    stops.sort();
    println!(
        "| runaway render (infinite loop, 10 ms deadline) stopped after: p50 / max of 30 | {} / {} | ≤ 20 ms (2× deadline) |",
        ms(stops[15]),
        ms(stops[29])
    );
}
