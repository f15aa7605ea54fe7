//! `hearth-plugin run`: runs one hook of a plugin against a throwaway forum
//! with production limits and prints the result, the log lines, and the
//! resources used against each limit.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use hearth::{
    Actor, CategoryKind, CommunitySettings, Forum, NewCategory, NewCommunity, NewReply, NewTopic,
    NewUser,
};
use hearth_wasm::{Capability, Hook, HostConfig, Manifest, PluginHost};

const USAGE: &str = "usage: hearth-plugin run <plugin.wasm> --hook <hook> [--input <fixture.json>]
                         [--manifest <plugin.toml>] [--settings <settings.json>] [--as guest|member|admin]
                         [--http <recorded.json>]

Runs one hook of a plugin against a throwaway forum (a community \"demo\"
with members, a Q&A category and a solved question) under the limits a
production host applies, and prints what it returned, what it logged and
what it used.

hooks: filter-post (input: a post draft), on-event (a list of events),
       render (a render context), route (a request), on-schedule (no input),
       action (an action request: name, post, topic, fields; API 0.2),
       render-items (slot, items, topic, path; API 0.2),
       render-markup (blocks: fence, info, source; API 0.2)
For action and render-items the viewer is the --as member unless the input
names one; an action's store writes are kept only when it is done. Notices
a hook queues (API 0.2's notify) are listed with what the forum did with
them.
Every outbound request (API 0.2's http) is listed with what came of it.
With --http, requests are answered from a recording — a JSON list of
{\"method\", \"url\", \"status\", \"headers\", \"body\"} — after the
host's rules about hosts and schemes, and nothing goes to the network
(plain http:// is allowed then).
The plugin.toml beside the .wasm is used unless --manifest names another.";

struct Args {
    wasm: PathBuf,
    hook: Hook,
    input: Option<PathBuf>,
    manifest: Option<PathBuf>,
    settings: Option<PathBuf>,
    viewer: String,
    http: Option<PathBuf>,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    if args.next().as_deref() != Some("run") {
        return Err(USAGE.into());
    }
    let wasm = args.next().ok_or(USAGE)?;
    let (mut hook, mut input, mut manifest, mut settings, mut viewer, mut http) =
        (None, None, None, None, "guest".to_string(), None);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n\n{USAGE}"))?;
        match flag.as_str() {
            "--hook" => {
                hook = Some(Hook::parse(&value).ok_or_else(|| {
                    format!(
                        "unknown hook {value:?}; one of: {}",
                        Hook::ALL
                            .iter()
                            .map(|h| h.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })?)
            }
            "--input" => input = Some(PathBuf::from(value)),
            "--manifest" => manifest = Some(PathBuf::from(value)),
            "--settings" => settings = Some(PathBuf::from(value)),
            "--as" => viewer = value,
            "--http" => http = Some(PathBuf::from(value)),
            other => return Err(format!("unknown option {other}\n\n{USAGE}")),
        }
    }
    Ok(Args {
        wasm: PathBuf::from(wasm),
        hook: hook.ok_or_else(|| format!("--hook is required\n\n{USAGE}"))?,
        input,
        manifest,
        settings,
        viewer,
        http,
    })
}

fn read(path: &PathBuf) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn run(args: Args) -> Result<bool, String> {
    let wasm = read(&args.wasm)?;
    let manifest_path = args
        .manifest
        .clone()
        .unwrap_or_else(|| args.wasm.with_file_name("plugin.toml"));
    let manifest_text = String::from_utf8(read(&manifest_path)?)
        .map_err(|_| format!("{}: not UTF-8", manifest_path.display()))?;
    let manifest = Manifest::parse(&manifest_text).map_err(|e| e.to_string())?;
    if !manifest.has_hook(args.hook) {
        return Err(format!(
            "{} does not list the {} hook in its manifest (it has: {})",
            manifest.name,
            args.hook,
            manifest
                .hooks
                .iter()
                .map(|h| h.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let input: serde_json::Value = match &args.input {
        Some(p) => {
            serde_json::from_slice(&read(p)?).map_err(|e| format!("{}: {e}", p.display()))?
        }
        None => serde_json::Value::Null,
    };

    let dir = std::env::temp_dir().join(format!("hearth-plugin-run-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let result = (|| -> Result<bool, String> {
        let forum = Arc::new(Forum::open(dir.join("forum.db")).map_err(|e| e.to_string())?);
        let fixture = seed(&forum).map_err(|e| format!("seeding the demo forum: {e}"))?;
        let config = match &args.http {
            None => HostConfig::default(),
            Some(p) => {
                let recorded: Vec<hearth_wasm::RecordedExchange> =
                    serde_json::from_slice(&read(p)?)
                        .map_err(|e| format!("{}: {e}", p.display()))?;
                HostConfig {
                    http_replay: Some(Arc::new(recorded)),
                    http_plain: true,
                    ..HostConfig::default()
                }
            }
        };
        let host = PluginHost::new(forum.clone(), config).map_err(|e| e.to_string())?;
        host.install(&manifest_text, &wasm)
            .map_err(|e| e.to_string())?;
        let grants: Vec<Capability> = manifest.capabilities.clone();
        host.enable(&Actor::System, fixture.community, &manifest.name, &grants)
            .map_err(|e| e.to_string())?;
        if let Some(p) = &args.settings {
            let values =
                serde_json::from_slice(&read(p)?).map_err(|e| format!("{}: {e}", p.display()))?;
            host.configure(&Actor::System, fixture.community, &manifest.name, values)
                .map_err(|e| e.to_string())?;
        }
        let actor = match args.viewer.as_str() {
            "guest" => Actor::Guest,
            "member" => Actor::User(fixture.member),
            "admin" => Actor::User(fixture.admin),
            other => return Err(format!("--as {other}: use guest, member or admin")),
        };
        eprintln!(
            "demo forum: community {} · admin {} · member {} · Q&A category {} · topic {} (answer {})",
            fixture.community.0,
            fixture.admin.0,
            fixture.member.0,
            fixture.category.0,
            fixture.topic.0,
            fixture.answer.0
        );
        let run = host
            .run_hook(&actor, fixture.community, &manifest.name, args.hook, &input)
            .map_err(|e| e.to_string())?;
        let ok = run.result.is_ok();
        match &run.result {
            Ok(v) => println!(
                "result:\n{}",
                serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
            ),
            Err(e) => println!("error: {e}"),
        }
        println!("log:");
        if run.logs.is_empty() {
            println!("  (nothing)");
        }
        for l in &run.logs {
            println!("  [{}] {}", l.level, l.message);
        }
        if !run.notices.is_empty() {
            println!("notices:");
            for n in &run.notices {
                let about = match (n.topic, n.post) {
                    (_, Some(p)) => format!(" about post {}", p.0),
                    (Some(t), None) => format!(" about topic {}", t.0),
                    (None, None) => String::new(),
                };
                println!(
                    "  to member {} ({}){about}: {}  [key {}]",
                    n.recipient.0, n.kind, n.text, n.dedupe_key
                );
            }
            match run.sent {
                Some(t) => println!(
                    "  sent {}, left out by the forum's rules {}, sent before {}, over the hourly cap {}",
                    t.sent, t.skipped, t.duplicates, t.capped
                ),
                None => println!("  none sent: the call's writes were not saved"),
            }
        }
        if !run.usage.http_exchanges.is_empty() {
            println!("http:");
            for x in &run.usage.http_exchanges {
                println!(
                    "  {} {} -> {}{}",
                    x.method,
                    x.url,
                    x.outcome,
                    if x.replayed { " (recorded)" } else { "" }
                );
            }
        }
        let pct = |a: f64, b: f64| {
            if b > 0.0 {
                format!("{:5.1}%", 100.0 * a / b)
            } else {
                "".into()
            }
        };
        let l = &run.limits;
        let u = &run.usage;
        println!("resources (limit for {}):", args.hook);
        println!(
            "  time        {:>10.3} ms of {:>8} ms  {}",
            u.elapsed.as_secs_f64() * 1e3,
            l.deadline.as_millis(),
            pct(u.elapsed.as_secs_f64(), l.deadline.as_secs_f64())
        );
        println!(
            "  memory      {:>10.1} KiB of {:>7} KiB {}",
            u.memory as f64 / 1024.0,
            l.memory / 1024,
            pct(u.memory as f64, l.memory as f64)
        );
        println!("  host input  cap {} bytes per value", l.max_host_input);
        println!("  output      cap {} bytes", l.max_output);
        match (u.fuel, l.fuel) {
            (Some(used), Some(budget)) => println!("  fuel        {used} of {budget}"),
            _ => println!("  fuel        not metered (HostConfig::fuel is off, as by default)"),
        }
        println!("  host calls  {}", u.host_calls);
        Ok(ok)
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

struct Fixture {
    community: hearth::CommunityId,
    admin: hearth::UserId,
    member: hearth::UserId,
    category: hearth::CategoryId,
    topic: hearth::TopicId,
    answer: hearth::PostId,
}

fn seed(forum: &Forum) -> Result<Fixture, hearth::Error> {
    let admin = forum.create_user(NewUser::new("ada"))?.id;
    let member = forum.create_user(NewUser::new("bob"))?.id;
    let community = forum
        .create_community(
            &Actor::System,
            NewCommunity {
                slug: "demo".into(),
                name: "Demo".into(),
                owner: Some(admin),
                settings: CommunitySettings::for_bulk_writes(),
            },
        )?
        .id;
    forum.join(&Actor::User(member), community)?;
    let category = forum
        .create_category(
            &Actor::System,
            community,
            NewCategory::new("questions", "Questions", CategoryKind::QuestionAndAnswer),
        )?
        .id;
    let (topic, _) = forum.create_topic(
        &Actor::User(member),
        community,
        NewTopic {
            category,
            title: "How do I reset my password?".into(),
            body: "The reset email never arrives.".into(),
            tags: vec![],
        },
    )?;
    let answer = forum
        .reply(
            &Actor::User(admin),
            community,
            topic.id,
            NewReply {
                body: "Check the spam folder, then ask us to resend it.".into(),
                reply_to: None,
            },
        )?
        .id;
    forum.like(&Actor::User(member), community, answer)?;
    forum.accept_answer(&Actor::User(member), community, answer)?;
    Ok(Fixture {
        community,
        admin,
        member,
        category,
        topic: topic.id,
        answer,
    })
}

fn main() -> ExitCode {
    match parse(std::env::args().skip(1)).and_then(run) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("hearth-plugin: {e}");
            ExitCode::from(2)
        }
    }
}
