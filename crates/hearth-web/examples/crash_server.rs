//! A bare server for the crash test (`tests/crash.rs`): serves one
//! community of an existing database on a free port of 127.0.0.1 and prints
//! `listening <address>` once it accepts connections. The test kills it
//! with SIGKILL, again and again, under write load.
//!
//! Usage: `crash_server <database> <community id>`.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use hearth::{CommunityId, Forum};
use hearth_web::{ServerLimits, Web, WebConfig};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("crash_server: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(db), Some(community)) = (args.next(), args.next()) else {
        return Err("usage: crash_server <database> <community id>".into());
    };
    let forum = Arc::new(Forum::open(&db)?);
    let mut config = WebConfig::new(CommunityId(community.parse()?));
    // Every client of the test comes from 127.0.0.1.
    config.limits.per_ip = None;
    let web = Web::new(forum, None, config)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening {addr}")?;
    out.flush()?;
    drop(out);
    hearth_web::serve_with(listener, web.router(), ServerLimits::default()).await?;
    Ok(())
}
