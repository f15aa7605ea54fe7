//! A plugin that misbehaves on purpose, for the host's tests. Its `mode`
//! setting picks the misbehaviour; every hook obeys it.

use hearth_plugin::{
    Event, Host, HostExt, Plugin, PostDraft, RenderContext, Request, Response, Verdict,
};

struct Hostile;

fn mode(host: &dyn Host) -> String {
    host.setting_as("mode").unwrap_or_else(|| "ok".into())
}

#[inline(never)]
#[allow(unconditional_recursion)]
fn recurse(n: u64, pad: [u64; 16]) -> u64 {
    let mut p = pad;
    p[(n % 16) as usize] = n;
    std::hint::black_box(&p);
    recurse(n + 1, p) + p[3]
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
        "recurse" => Some(recurse(0, [0; 16]).to_string()),
        "trap" => panic!("hostile plugin panicked on purpose"),
        "huge" => Some("x".repeat(10 << 20)),
        "script" => Some(
            r#"<p>visible</p><script>alert(1)</script><img src="x.png" onerror="alert(2)"><a href="javascript:alert(3)">link</a>"#
                .into(),
        ),
        "nocap" => {
            let _ = host.kv_set("stolen", b"nothing");
            Some("called kv".into())
        }
        _ => None,
    }
}

impl Plugin for Hostile {
    fn filter_post(host: &dyn Host, draft: PostDraft) -> Result<Verdict, String> {
        if mode(host) == "garbage" {
            // Not valid Markdown-safe content: NULs and a body far past any
            // content limit.
            return Ok(Verdict::Rewrite("\0\u{1}garbage".repeat(200_000)));
        }
        Ok(match misbehave(host) {
            Some(_) => Verdict::Allow,
            None => Verdict::Rewrite(format!("{} (checked)", draft.body)),
        })
    }

    fn on_event(host: &dyn Host, events: Vec<Event>) -> Result<(), String> {
        if mode(host) == "poison" {
            let poison: i64 = host.setting_as("poison").unwrap_or(0);
            if events.iter().any(|e| e.id == poison) {
                return Err(format!("cannot handle event {poison}"));
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
}

hearth_plugin::register_plugin!(Hostile);
