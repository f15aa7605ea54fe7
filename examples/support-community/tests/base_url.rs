//! The demo's links point where it is served: started on another port,
//! or with `--base-url`, no page, post or e-mail links to the old address.

use std::process::Command;

use hearth::{Actor, Forum, PageRequest, TopicFilter};

fn start(data: &std::path::Path, args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_support-community"))
        .arg("--data")
        .arg(data)
        .args(["--seed-only", "--no-email"])
        .args(args)
        .output()
        .expect("run the demo");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every post's HTML in the demo, with the community's base URL.
fn snapshot(data: &std::path::Path) -> (Option<String>, String) {
    let forum = Forum::open(data).expect("open");
    let c = forum
        .community_by_slug(&Actor::System, support_community::SLUG)
        .expect("community");
    let mut html = String::new();
    let page = forum
        .latest(
            &Actor::System,
            c.id,
            &TopicFilter::default(),
            &PageRequest::first(100),
        )
        .expect("latest");
    for t in page.items {
        let view = forum
            .topic(&Actor::System, c.id, t.id, &PageRequest::first(100))
            .expect("topic");
        for p in view.posts.items {
            html.push_str(&p.html);
        }
    }
    (c.settings.base_url, html)
}

#[test]
fn links_follow_the_port_and_the_base_url() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("demo.db");
    start(&data, &["--port", "4711"]);
    {
        // A post with a relative link and a mention, as members write.
        let forum = Forum::open(&data).expect("open");
        let c = forum
            .community_by_slug(&Actor::System, support_community::SLUG)
            .expect("community");
        let (a, b) = (
            support_community::SIGN_INS[0].0,
            support_community::SIGN_INS[1].0,
        );
        let author = forum.user_by_username(a).expect("user").id;
        let topic = forum
            .latest(
                &Actor::System,
                c.id,
                &TopicFilter::default(),
                &PageRequest::first(1),
            )
            .expect("latest")
            .items[0]
            .id;
        forum
            .reply(
                &Actor::User(author),
                c.id,
                topic,
                hearth::NewReply {
                    body: format!("See [the library](/kb), @{b}."),
                    reply_to: None,
                },
            )
            .expect("reply");
    }
    let (base, html) = snapshot(&data);
    assert_eq!(base.as_deref(), Some("http://127.0.0.1:4711/"));
    assert!(
        html.contains("http://127.0.0.1:4711/u/"),
        "mentions link to the server"
    );

    start(&data, &["--port", "4712"]);
    let (base, html) = snapshot(&data);
    assert_eq!(base.as_deref(), Some("http://127.0.0.1:4712/"));
    assert!(
        !html.contains(":4711"),
        "a post still links to the old port"
    );
    assert!(html.contains("http://127.0.0.1:4712/u/"));

    start(&data, &["--base-url", "https://community.example.test/"]);
    let (base, html) = snapshot(&data);
    assert_eq!(base.as_deref(), Some("https://community.example.test/"));
    assert!(
        !html.contains("127.0.0.1"),
        "a post still links to 127.0.0.1"
    );
}
