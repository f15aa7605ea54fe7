//! A bare server for the crash tests (`tests/crash.rs`,
//! `tests/two_servers.rs`): serves one community of an existing database
//! on a free port of 127.0.0.1 and prints `listening <address>` once it
//! accepts connections. The tests kill it with SIGKILL, again and again,
//! under write load.
//!
//! Usage: `crash_server <database> <community id> [<SMTP port>]`. With an
//! SMTP port it also runs the e-mail jobs every 100 ms, delivering to
//! 127.0.0.1 on that port, with a 2 s job lease (so another server takes
//! over quickly when this one is killed).

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use hearth::{CommunityId, Config, Forum};
use hearth_web::{ServerLimits, SmtpMailer, Web, WebConfig};

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
        return Err("usage: crash_server <database> <community id> [<SMTP port>]".into());
    };
    let smtp: Option<u16> = args.next().map(|p| p.parse()).transpose()?;
    let forum = Arc::new(Forum::open_with(
        &db,
        Config {
            email_job_lease: Duration::from_secs(2),
            ..Config::default()
        },
    )?);
    let mut config = WebConfig::new(CommunityId(community.parse()?));
    // Every client of the test comes from 127.0.0.1.
    config.limits.per_ip = None;
    let web = Web::new(forum, None, config)?;
    if let Some(port) = smtp {
        let mailer = SmtpMailer::unencrypted("127.0.0.1", port);
        web.spawn_email_jobs(Arc::new(mailer), Duration::from_millis(100));
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening {addr}")?;
    out.flush()?;
    drop(out);
    hearth_web::serve_with(listener, web.router(), ServerLimits::default()).await?;
    Ok(())
}
