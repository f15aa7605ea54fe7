//! `cargo run -p support-community [-- --fresh] [--port N] [--scale N]
//! [--data FILE] [--seed-only] [--no-rate-limit] [--no-anon-cache] [--no-member-cache]
//! [--api-key-file FILE]`: seeds `./data/support-community.db` on first
//! run and serves it on 127.0.0.1 (see `demo_kit::run`).

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    if let Err(e) = demo_kit::run(support_community::DEMO).await {
        eprintln!("support-community: {e}");
        std::process::exit(1);
    }
}
