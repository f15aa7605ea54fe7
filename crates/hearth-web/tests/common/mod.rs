//! A small community served in-process: public Q&A, a members-only
//! category, a staff-group category, an admin, two members and an outsider.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use hearth::{
    Actor, Category, CategoryKind, CommunityId, CommunitySettings, Forum, NewCategory,
    NewCommunity, NewReply, NewTopic, PostId, Role, TopicId, UserId, Visibility,
};
use hearth_wasm::{HostConfig, PluginHost};
use hearth_web::{Limits, Web, WebConfig};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

#[path = "../../../hearth/tests/common/backend.rs"]
mod backend;
pub use backend::*;

pub const PASSWORD: &str = "correct horse battery";

pub struct Fixture {
    pub _dir: tempfile::TempDir,
    /// What `Forum::open` was given: the SQLite file or a `postgres://` URL.
    pub location: String,
    pub forum: Arc<Forum>,
    pub web: Web,
    pub app: Router,
    pub community: CommunityId,
    pub admin: UserId,
    pub ada: UserId,
    pub bob: UserId,
    pub outsider: UserId,
    pub qa: Category,
    pub members_only: Category,
    pub staff_only: Category,
    pub public_topic: TopicId,
    pub public_answer: PostId,
    pub member_topic: TopicId,
    pub staff_topic: TopicId,
    /// A global API key (acts as whoever Api-Username names).
    pub global_key: String,
    /// ada's own key.
    pub ada_key: String,
}

impl Fixture {
    /// Holds what another writer of the community would hold (SQLite: the
    /// file's write lock; PostgreSQL: the community's row), from another
    /// connection, until [`Held::release`].
    pub fn hold_writes(&self) -> Held {
        if self.location.starts_with("postgres") {
            #[cfg(feature = "postgres")]
            {
                // On a thread of its own: the client can't block inside
                // the async test.
                let (url, community) = (self.location.clone(), self.community.0);
                let (locked, is_locked) = std::sync::mpsc::channel();
                let (release, released) = std::sync::mpsc::channel::<()>();
                let holder = std::thread::spawn(move || {
                    let mut c = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
                    c.batch_execute("BEGIN").expect("begin");
                    c.execute(
                        "SELECT id FROM communities WHERE id = $1 FOR NO KEY UPDATE",
                        &[&community],
                    )
                    .expect("lock");
                    locked.send(()).expect("locked");
                    let _ = released.recv();
                    c.batch_execute("ROLLBACK").expect("unlock");
                });
                is_locked.recv().expect("the lock holder died");
                return Held::Postgres(release, holder);
            }
        }
        let c = rusqlite::Connection::open(&self.location).expect("open");
        c.execute_batch("BEGIN IMMEDIATE").expect("lock");
        Held::Sqlite(c)
    }

    /// The first post of a topic (read as the system).
    pub fn first_post(&self, topic: TopicId) -> hearth::PostId {
        self.forum
            .topic(
                &Actor::System,
                self.community,
                topic,
                &hearth::PageRequest::first(1),
            )
            .expect("topic")
            .posts
            .items[0]
            .id
    }

    /// A topic's page path (`/t/{slug}/{id}`).
    pub fn topic_url(&self, id: TopicId) -> String {
        let t = self
            .forum
            .topic_only(&Actor::System, self.community, id)
            .expect("topic");
        format!("/t/{}/{}", t.slug, t.id.0)
    }
}

/// A lock held by [`Fixture::hold_writes`].
pub enum Held {
    Sqlite(rusqlite::Connection),
    /// The thread holding the row lock, and how to tell it to let go.
    #[cfg(feature = "postgres")]
    Postgres(std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>),
}

impl Held {
    /// Lets the writers in again.
    pub fn release(self) {
        match self {
            Held::Sqlite(c) => c.execute_batch("ROLLBACK").expect("unlock"),
            #[cfg(feature = "postgres")]
            Held::Postgres(release, holder) => {
                release.send(()).expect("release");
                holder.join().expect("unlock");
            }
        }
    }
}

pub fn fixture() -> Fixture {
    fixture_with(|_| {})
}

pub fn fixture_with(tune: impl FnOnce(&mut WebConfig)) -> Fixture {
    build(tune, None, SHORT_BUSY_TIMEOUT)
}

/// [`fixture_with`] whose writes wait `busy_timeout` for a held lock
/// instead of the fault tests' short one.
pub fn fixture_waiting(
    busy_timeout: std::time::Duration,
    tune: impl FnOnce(&mut WebConfig),
) -> Fixture {
    build(tune, None, busy_timeout)
}

/// A short busy timeout: the fault tests hold the write lock from another
/// connection.
pub const SHORT_BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(300);

/// Where `cargo xtask plugins` puts a first-party plugin.
pub fn plugin_dir(name: &str) -> std::path::PathBuf {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/plugins")
        .join(name);
    assert!(
        dir.join(format!("{name}.wasm")).is_file(),
        "{} is missing: run `cargo xtask plugins` first (cargo xtask test does)",
        dir.display()
    );
    dir
}

/// The fixture with a plugin host; `setup` installs and enables plugins.
pub fn fixture_with_plugins(setup: impl FnOnce(&PluginHost, CommunityId)) -> Fixture {
    build(|_| {}, Some(Box::new(setup)), SHORT_BUSY_TIMEOUT)
}

type Setup<'a> = Box<dyn FnOnce(&PluginHost, CommunityId) + 'a>;

fn build(
    tune: impl FnOnce(&mut WebConfig),
    setup: Option<Setup<'_>>,
    busy_timeout: std::time::Duration,
) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let location = test_database(dir.path(), "web");
    let forum = Arc::new(
        Forum::open_with(
            &location,
            hearth::Config {
                store: hearth::StoreConfig {
                    busy_timeout,
                    ..hearth::StoreConfig::default()
                },
                ..hearth::Config::default()
            },
        )
        .expect("open"),
    );
    let account = |name: &str| {
        hearth_web::create_account(&forum, name, "", &format!("{name}@example.com"), PASSWORD)
            .expect("account")
            .id
    };
    let admin = account("ann");
    let ada = account("ada");
    let bob = account("bob");
    let outsider = account("outsider");
    let mut settings = CommunitySettings::for_bulk_writes();
    settings.base_url = Some("https://community.example.com/".into());
    let community = forum
        .create_community(
            &Actor::System,
            NewCommunity {
                slug: "acme".into(),
                name: "Acme Community".into(),
                owner: Some(admin),
                settings,
            },
        )
        .expect("community")
        .id;
    let a = Actor::User(admin);
    for u in [ada, bob] {
        forum.join(&Actor::User(u), community).expect("join");
    }
    let staff = forum
        .create_group(&a, community, "staff", "Employees")
        .expect("group");
    forum
        .add_to_group(&a, community, staff.id, admin)
        .expect("in group");
    let qa = forum
        .create_category(
            &a,
            community,
            NewCategory::new("questions", "Questions", CategoryKind::QuestionAndAnswer)
                .description("Ask the community"),
        )
        .expect("qa");
    let members_only = forum
        .create_category(
            &a,
            community,
            NewCategory::new("lounge", "Members lounge", CategoryKind::Discussion)
                .visibility(Visibility::Members),
        )
        .expect("lounge");
    let staff_only = forum
        .create_category(
            &a,
            community,
            NewCategory::new("staff", "Staff room", CategoryKind::Discussion)
                .visibility(Visibility::Groups)
                .groups(&[staff.id]),
        )
        .expect("staff");
    let (public_topic, _) = forum
        .create_topic(
            &Actor::User(ada),
            community,
            NewTopic {
                category: qa.id,
                title: "How do I rotate my API key?".into(),
                body: "The **old** key still works after I made a new one.".into(),
                tags: vec!["api".into()],
            },
        )
        .expect("topic");
    let answer = forum
        .reply(
            &a,
            community,
            public_topic.id,
            NewReply {
                body: "Revoke the old key under Settings, then rotate.".into(),
                reply_to: None,
            },
        )
        .expect("answer");
    forum
        .accept_answer(&Actor::User(ada), community, answer.id)
        .expect("accept");
    let (member_topic, _) = forum
        .create_topic(
            &Actor::User(bob),
            community,
            NewTopic {
                category: members_only.id,
                title: "Members only: roadmap chatter".into(),
                body: "Secret lounge conversation about the zeppelin roadmap.".into(),
                tags: vec![],
            },
        )
        .expect("member topic");
    let (staff_topic, _) = forum
        .create_topic(
            &a,
            community,
            NewTopic {
                category: staff_only.id,
                title: "Staff only: escalation rota".into(),
                body: "Internal escalation rota for the quokka incident.".into(),
                tags: vec![],
            },
        )
        .expect("staff topic");
    let mut config = WebConfig::new(community);
    config.limits = Limits {
        per_ip: None,
        ..Limits::default()
    };
    config.backup_dir = Some(dir.path().join("backups"));
    tune(&mut config);
    let host = setup.map(|setup| {
        // A generous deadline: these tests are about what plugins add to
        // pages, and a busy CI machine can take longer than the default
        // 10 ms for a route (deadlines are hearth-wasm's hostile tests').
        let config = HostConfig {
            interactive_deadline: std::time::Duration::from_secs(2),
            ..HostConfig::default()
        };
        let host = PluginHost::new(forum.clone(), config).expect("host");
        setup(&host, community);
        host
    });
    let web = Web::new(forum.clone(), host, config).expect("web");
    let (global_key, _) = web
        .create_api_key(&Actor::System, None, "integration")
        .expect("key");
    let (ada_key, _) = web
        .create_api_key(&Actor::User(admin), Some(ada), "ada's bot")
        .expect("key");
    let app = web
        .router()
        .layer(MockConnectInfo(SocketAddr::from(([10, 0, 0, 7], 4000))));
    Fixture {
        location,
        _dir: dir,
        forum,
        web,
        app,
        community,
        admin,
        ada,
        bob,
        outsider,
        qa,
        members_only,
        staff_only,
        public_topic: public_topic.id,
        public_answer: answer.id,
        member_topic: member_topic.id,
        staff_topic: staff_topic.id,
        global_key,
        ada_key,
    }
}

/// One answer, body read.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }

    /// A response header as text ("" when absent).
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|c| {
                let (kv, _) = c.split_once(';').unwrap_or((c, ""));
                let (k, v) = kv.split_once('=')?;
                (k == name).then(|| v.to_string())
            })
    }
}

/// A request under construction.
pub struct Req {
    pub builder: axum::http::request::Builder,
    pub body: Body,
}

pub fn req(method: Method, uri: &str) -> Req {
    Req {
        builder: Request::builder().method(method).uri(uri),
        body: Body::empty(),
    }
}

pub fn get(uri: &str) -> Req {
    req(Method::GET, uri)
}

impl Req {
    pub fn header(mut self, k: &str, v: &str) -> Req {
        self.builder = self.builder.header(k, v);
        self
    }
    /// As `username` with the global key.
    pub fn acting(self, f: &Fixture, username: &str) -> Req {
        self.header("Api-Key", &f.global_key)
            .header("Api-Username", username)
    }
    pub fn json(mut self, v: Value) -> Req {
        self.builder = self
            .builder
            .header(header::CONTENT_TYPE, "application/json");
        self.body = Body::from(v.to_string());
        self
    }
    pub fn form(mut self, pairs: &[(&str, &str)]) -> Req {
        self.builder = self
            .builder
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        self.body = Body::from(serde_urlencoded::to_string(pairs).expect("form"));
        self
    }
    pub fn raw(mut self, content_type: &str, body: impl Into<Body>) -> Req {
        self.builder = self.builder.header(header::CONTENT_TYPE, content_type);
        self.body = body.into();
        self
    }
}

pub async fn send(app: &Router, r: Req) -> Reply {
    let request = r.builder.body(r.body).expect("request");
    let res = app.clone().oneshot(request).await.expect("infallible");
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// A browser: keeps cookies, sends the CSRF token it was given.
pub struct Browser {
    pub app: Router,
    pub cookies: Vec<(String, String)>,
}

impl Browser {
    pub fn new(f: &Fixture) -> Browser {
        Browser {
            app: f.app.clone(),
            cookies: Vec::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn send(&mut self, mut r: Req) -> Reply {
        if !self.cookies.is_empty() {
            r = r.header("Cookie", &self.cookie_header());
        }
        let reply = send(&self.app, r).await;
        for v in reply.headers.get_all(header::SET_COOKIE) {
            let Ok(c) = v.to_str() else { continue };
            let (kv, attrs) = c.split_once(';').unwrap_or((c, ""));
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            self.cookies.retain(|(name, _)| name != k);
            if !attrs.contains("Max-Age=0") {
                self.cookies.push((k.to_string(), v.to_string()));
            }
        }
        reply
    }

    pub async fn get(&mut self, uri: &str) -> Reply {
        self.send(get(uri)).await
    }

    /// The CSRF token from Discourse's `/session/csrf.json`.
    pub async fn csrf(&mut self) -> String {
        self.get("/session/csrf.json").await.json()["csrf"]
            .as_str()
            .expect("csrf")
            .to_string()
    }

    /// The CSRF token in the last page's forms.
    pub fn token_in(page: &str) -> String {
        let marker = "name=\"authenticity_token\" value=\"";
        let at = page.find(marker).expect("a form with a CSRF token") + marker.len();
        page[at..at + 64].to_string()
    }

    /// Where the page's action button whose target contains `part` (as
    /// the page escapes it) posts, as a browser reads its `formaction`.
    pub fn button_target(page: &str, part: &str) -> String {
        let marker = "formaction=\"";
        page.match_indices(marker)
            .map(|(at, _)| &page[at + marker.len()..])
            .filter_map(|rest| rest.split('"').next())
            .find(|target| target.contains(part))
            .unwrap_or_else(|| panic!("a button posting to …{part}… in {page}"))
            .replace("&amp;", "&")
    }

    /// Posts a form with the token taken from `page_uri`.
    pub async fn submit(&mut self, page_uri: &str, action: &str, fields: &[(&str, &str)]) -> Reply {
        let page = self.get(page_uri).await;
        let token = Self::token_in(&page.body);
        let mut all = vec![("authenticity_token", token.as_str())];
        all.extend_from_slice(fields);
        self.send(req(Method::POST, action).form(&all)).await
    }

    /// Signs up on the page as `name` (`{name}@example.com`, the common
    /// password).
    pub async fn sign_up(&mut self, name: &str) -> Reply {
        let email = format!("{name}@example.com");
        self.submit(
            "/signup",
            "/signup",
            &[
                ("username", name),
                ("email", &email),
                ("password", PASSWORD),
            ],
        )
        .await
    }

    pub async fn sign_in(&mut self, login: &str) -> Reply {
        self.submit(
            "/login",
            "/login",
            &[("login", login), ("password", PASSWORD)],
        )
        .await
    }
}

pub fn role_of(f: &Fixture, user: UserId) -> Option<Role> {
    f.forum
        .member(&Actor::System, f.community, user)
        .ok()
        .map(|m| m.role)
}

/// A multipart body with a `file` part and text parts.
pub fn multipart(file: (&str, &[u8]), fields: &[(&str, &str)]) -> (String, Vec<u8>) {
    let boundary = "hearth-test-boundary-7e1b";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\nContent-Type: application/octet-stream\r\n\r\n",
            file.0
        )
        .as_bytes(),
    );
    body.extend_from_slice(file.1);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A real `w`×`h` PNG of one colour.
pub fn sized_png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbaImage::from_pixel(w, h, image::Rgba([200, 80, 20, 255]));
    let mut out = Vec::new();
    image::DynamicImage::ImageRgba8(img)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("a PNG encodes");
    out
}

/// A real 1×1 PNG padded after its end to `size` bytes (the engine drops
/// the padding when it re-encodes the picture).
pub fn png(size: usize) -> Vec<u8> {
    let mut b = sized_png(1, 1);
    b.resize(size.max(b.len()), 0);
    b
}
