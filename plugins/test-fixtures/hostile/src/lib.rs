//! A plugin that misbehaves on purpose, for the host's tests. Its `mode`
//! setting picks the misbehaviour; every hook obeys it.

use hearth_plugin::{
    ActionOutcome, ActionRequest, Event, Host, HostExt, HttpRequest, ItemFragment, ItemsContext,
    MarkupBlock, MarkupOutput, Notice, Plugin, PostDraft, RenderContext, Request, Response,
    Verdict, escape,
};

struct Hostile;

fn mode(host: &dyn Host) -> String {
    host.setting_as("mode").unwrap_or_else(|| "ok".into())
}

/// Recursion that lives on the WebAssembly stack (plain locals, no
/// linear-memory frame), so the engine's stack cap is what stops it.
#[inline(never)]
#[allow(unconditional_recursion)]
fn recurse(n: u64) -> u64 {
    recurse(n.wrapping_add(1)).rotate_left(3) ^ n
}

/// Misbehaves; returns a value only in the modes that return one.
fn misbehave(host: &dyn Host) -> Option<String> {
    match mode(host).as_str() {
        "loop" => {
            let mut i: u64 = 0;
            loop {
                i = std::hint::black_box(i.wrapping_add(1));
            }
        }
        "grow" => {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![1u8; 1 << 20]);
                std::hint::black_box(&hoard);
            }
        }
        "recurse" => Some(recurse(0).to_string()),
        "work" => {
            // A fixed amount of honest computing (`iterations`, default
            // 2,000,000): milliseconds of CPU, however busy the server is.
            let n: u64 = host.setting_as("iterations").unwrap_or(2_000_000);
            let mut x: u64 = 0;
            for i in 0..n {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
            }
            Some(format!("<p>worked {}</p>", x % 10))
        }
        // The clock, exact and to the minute (capability `now`).
        "clock" => Some(format!("clock {}", host.now())),
        "minute" => Some(format!("minute {}", host.now_rounded(60_000))),
        "trap" => panic!("hostile plugin panicked on purpose"),
        "huge" => Some("x".repeat(10 << 20)),
        "script" => Some(
            r#"<p>visible</p><script>alert(1)</script><img src="x.png" onerror="alert(2)"><a href="javascript:alert(3)">link</a>"#
                .into(),
        ),
        "nocap" => {
            let _ = host.award_points(1, 1_000_000, "free points");
            Some("called award-points".into())
        }
        "write" => {
            // Tries to write from whatever hook it is in, and says what the
            // host answered (renders and GET routes are read-only).
            let set = host.kv_set("written", b"by hostile");
            let delete = host.kv_delete("kept");
            Some(format!("<p>kv-set: {set:?}; kv-delete: {delete:?}</p>"))
        }
        "http" => {
            // Fetches the `url` setting and keeps what came of it in `http`
            // (where the hook may write), and shows it.
            let url: String = host.setting_as("url").unwrap_or_default();
            let req = HttpRequest {
                method: "GET".into(),
                url,
                headers: vec![("Accept".into(), "text/plain".into())],
                body: Vec::new(),
            };
            let text = match host.http_fetch(&req) {
                Ok(r) => format!(
                    "status {} body {}",
                    r.status,
                    r.text().chars().take(100).collect::<String>()
                ),
                Err(e) => format!("error {e}"),
            };
            let _ = host.kv_set("http", text.as_bytes());
            Some(format!("<p>{}</p>", escape(&text)))
        }
        "lists" => {
            // Reads lists as whoever the hook reads as, and says what it saw.
            let titles = match host.latest_topics(None, None, 100) {
                Ok((ts, _)) => ts.iter().map(|t| t.title.clone()).collect::<Vec<_>>().join("|"),
                Err(e) => format!("error {e}"),
            };
            let first = host
                .latest_topics(None, None, 1)
                .map(|(ts, next)| (ts.first().map(|t| t.id), next.is_some()));
            let posts = match &first {
                Ok((Some(t), _)) => host.topic_posts(*t, None, 100).map(|(ps, _)| ps.len()).ok(),
                _ => None,
            };
            let ids = host
                .posts_by_ids(&[1, 2, 999_999])
                .map(|v| v.iter().map(Option::is_some).collect::<Vec<_>>());
            let over = host.latest_topics(None, None, 101).is_err();
            let members = host.members_by_ids(&[2, 999_999, 1]).map(|v| {
                v.into_iter()
                    .map(|m| m.map(|m| m.username))
                    .collect::<Vec<_>>()
            });
            let too_many = host.members_by_ids(&[1; 101]).is_err();
            Some(format!(
                "<p>titles {}; first {first:?}; posts {posts:?}; ids {ids:?}; over {over}; members {}; members over {too_many}</p>",
                escape(&titles),
                escape(&format!("{members:?}"))
            ))
        }
        "hold" => {
            // From a render: refused (renders do not write).
            let held = host.hold_post(1, "from a render");
            Some(format!("<p>hold: {}</p>", escape(&format!("{held:?}"))))
        }
        "moderate" => {
            // From a render or an action: each refused but the reply in an
            // action (queued; posted only if the action is done).
            let hide = host.hide_post(1, "from here");
            let flag = host.flag_post(1, "from here");
            let close = host.close_topic(1, "from here");
            let reply = host.reply(1, "from here", None);
            Some(format!(
                "<p>{}</p>",
                escape(&format!("hide {hide:?}; flag {flag:?}; close {close:?}; reply {reply:?}"))
            ))
        }
        "secret" => {
            // Reads its own secret setting; says only how long it is.
            let key: String = host.setting_as("api-key").unwrap_or_default();
            Some(format!("<p>secret of {} bytes</p>", key.len()))
        }
        "notify" => {
            // A storm: 150 notices to the `target` member (the host queues
            // its per-call cap), then an undeclared kind and a text too long.
            let to: i64 = host.setting_as("target").unwrap_or(0);
            let poke = |kind: &str, text: String, key: String| Notice {
                member: to,
                kind: kind.into(),
                topic: None,
                post: None,
                text,
                dedupe_key: key,
            };
            let mut queued = 0;
            let mut refused = None;
            for i in 0..150 {
                match host.notify(&poke("poke", format!("Poke {i}"), format!("poke/{i}"))) {
                    Ok(()) => queued += 1,
                    Err(e) => refused = Some(e.to_string()),
                }
            }
            let undeclared = host.notify(&poke("nope", "Nope".into(), "nope".into()));
            let long = host.notify(&poke("poke", "x".repeat(301), "long".into()));
            Some(format!(
                "<p>queued {queued}; then {refused:?}; undeclared {undeclared:?}; long {long:?}</p>"
            ))
        }
        _ => None,
    }
}

impl Plugin for Hostile {
    fn filter_post(host: &dyn Host, draft: PostDraft) -> Result<Verdict, String> {
        if mode(host) == "garbage" {
            // Not text anyone wrote: NULs and control characters.
            return Ok(Verdict::Rewrite("\0\u{1}garbage".repeat(20_000)));
        }
        Ok(match misbehave(host) {
            Some(_) => Verdict::Allow,
            None => Verdict::Rewrite(format!("{} (checked)", draft.body)),
        })
    }

    fn on_event(host: &dyn Host, events: Vec<Event>) -> Result<(), String> {
        if mode(host) == "record" {
            // Appends every event id it handles to `log`, failing on the
            // poison event: the host's tests read `log` to check delivery
            // order, loss and duplication.
            let poison: i64 = host.setting_as("poison").unwrap_or(0);
            let mut log: Vec<i64> = host
                .kv_get_json("log")
                .map_err(|e| e.to_string())?
                .unwrap_or_default();
            // With `read` granted, also the body of every post it can read.
            let mut bodies: Vec<String> = host
                .kv_get_json("bodies")
                .map_err(|e| e.to_string())?
                .unwrap_or_default();
            for e in &events {
                if e.id == poison {
                    return Err(format!("cannot handle event {poison}"));
                }
                log.push(e.id);
                if let Some(Ok(Some(post))) = e.post.map(|p| host.post(p)) {
                    bodies.push(post.body);
                }
            }
            host.kv_set_json("log", &log).map_err(|e| e.to_string())?;
            host.kv_set_json("bodies", &bodies)
                .map_err(|e| e.to_string())?;
            return Ok(());
        }
        if mode(host) == "moderate" {
            // A moderation bot: on each new post whose text names what to
            // do — "hide me", "flag me", "close me" — does it, and answers
            // every new post as its bot member (it never sees its own
            // replies). Outcomes are kept in `moderated`.
            let mut done: Vec<String> = host
                .kv_get_json("moderated")
                .map_err(|e| e.to_string())?
                .unwrap_or_default();
            for e in events.iter().filter(|e| e.kind == "post.created") {
                let (Some(post), Some(topic)) = (e.post, e.topic) else {
                    continue;
                };
                let body = match host.post(post) {
                    Ok(Some(p)) => p.body,
                    _ => String::new(),
                };
                if body.contains("hide me") {
                    done.push(format!(
                        "hide {post}: {:?}",
                        host.hide_post(post, "asked to")
                    ));
                }
                if body.contains("flag me") {
                    done.push(format!(
                        "flag {post}: {:?}",
                        host.flag_post(post, "asked to")
                    ));
                }
                if body.contains("close me") {
                    done.push(format!(
                        "close {topic}: {:?}",
                        host.close_topic(topic, "asked to")
                    ));
                }
                done.push(format!(
                    "reply {topic}: {:?}",
                    host.reply(topic, &format!("The bot saw post {post}."), Some(post))
                ));
            }
            host.kv_set_json("moderated", &done)
                .map_err(|e| e.to_string())?;
            return Ok(());
        }
        if mode(host) == "hold" {
            // Holds every new post for review (a spam checker's verdict).
            for e in events.iter().filter(|e| e.kind == "post.created") {
                if let Some(post) = e.post {
                    host.hold_post(post, "the fixture says spam")
                        .map_err(|e| e.to_string())?;
                }
            }
            return Ok(());
        }
        misbehave(host);
        Ok(())
    }

    fn render(host: &dyn Host, _ctx: RenderContext) -> Result<Option<String>, String> {
        Ok(Some(
            misbehave(host).unwrap_or_else(|| "<p>hostile but fine</p>".into()),
        ))
    }

    fn route(host: &dyn Host, _req: Request) -> Result<Option<Response>, String> {
        Ok(Some(Response::html(misbehave(host).unwrap_or_default())))
    }

    fn on_schedule(host: &dyn Host, _community: i64, _now: i64) -> Result<(), String> {
        misbehave(host);
        Ok(())
    }

    fn action(host: &dyn Host, _req: ActionRequest) -> Result<ActionOutcome, String> {
        // Writes first, so the host's tests see whether it was saved.
        host.kv_set("acted", b"yes").map_err(|e| e.to_string())?;
        match mode(host).as_str() {
            "write" => {
                let _ = host.kv_delete("kept");
                Ok(ActionOutcome::Refused("refused on purpose".into()))
            }
            "redirect" => Ok(ActionOutcome::Done {
                message: None,
                redirect: Some("//evil.example/".into()),
                json: None,
            }),
            "moderate" => {
                // What the host answered, kept for the tests.
                let said = misbehave(host).unwrap_or_default();
                host.kv_set("moderate-action", said.as_bytes())
                    .map_err(|e| e.to_string())?;
                Ok(ActionOutcome::done())
            }
            _ => {
                misbehave(host);
                Ok(ActionOutcome::done())
            }
        }
    }

    fn render_items(host: &dyn Host, ctx: ItemsContext) -> Result<Vec<ItemFragment>, String> {
        let html = misbehave(host).unwrap_or_else(|| "<span class=\"hostile-ok\">ok</span>".into());
        let mut out: Vec<ItemFragment> = ctx
            .items
            .iter()
            .map(|&item| ItemFragment {
                item,
                html: html.clone(),
            })
            .collect();
        // An item nobody asked about.
        out.push(ItemFragment {
            item: -1,
            html: "<p>not asked</p>".into(),
        });
        Ok(out)
    }

    /// A ```` ```hostile ```` block's text picks the misbehaviour (settings
    /// are not readable here): `loop`, `trap`, `huge`, `script`, `count`
    /// (answers one block too many), `peek` (tries to read the store, a
    /// setting and the clock, and shows what it got), `none` (leaves the
    /// block as source); anything else renders `ok`.
    fn render_markup(
        host: &dyn Host,
        blocks: Vec<MarkupBlock>,
    ) -> Result<Vec<Option<MarkupOutput>>, String> {
        let out = |html: String| {
            Some(MarkupOutput {
                html,
                text: "hostile text".into(),
            })
        };
        let mut answers: Vec<Option<MarkupOutput>> = Vec::new();
        for b in &blocks {
            let answer = match b.source.trim() {
                "loop" => {
                    let mut i: u64 = 0;
                    loop {
                        i = std::hint::black_box(i.wrapping_add(1));
                    }
                }
                "trap" => panic!("hostile markup panicked on purpose"),
                "huge" => out("x".repeat(10 << 20)),
                "script" => out(
                    r#"<p class="hostile-ok other">visible</p><script>alert(1)</script><img src="x.png" onerror="alert(2)"><form action="/x"><button>go</button></form><hearth-action name="act">act</hearth-action>"#
                        .into(),
                ),
                "count" => {
                    answers.push(out("<p>extra</p>".into()));
                    out("<p>one</p>".into())
                }

                "peek" => {
                    let kv = host.kv_get("kept");
                    let setting = host.setting("mode");
                    out(format!(
                        "<p>kv: {}; setting: {}</p>",
                        escape(&format!("{kv:?}")),
                        escape(&format!("{setting:?}"))
                    ))
                }
                "none" => None,
                _ => out(format!(
                    "<p class=\"hostile-ok\">ok: {}</p>",
                    escape(&b.info)
                )),
            };
            answers.push(answer);
        }
        Ok(answers)
    }
}

hearth_plugin::register_plugin!(Hostile);
