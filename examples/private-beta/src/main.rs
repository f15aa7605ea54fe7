//! `cargo run -p private-beta`: a seeded private-beta community on 127.0.0.1
//! (options: see `demo_kit::run`).

#[tokio::main]
async fn main() {
    if let Err(e) = demo_kit::run(private_beta::DEMO).await {
        eprintln!("private-beta: {e}");
        std::process::exit(1);
    }
}
