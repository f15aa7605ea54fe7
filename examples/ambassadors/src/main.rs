//! `cargo run -p ambassadors`: a seeded ambassador program on 127.0.0.1
//! (options: see `demo_kit::run`).

#[tokio::main]
async fn main() {
    if let Err(e) = demo_kit::run(ambassadors::DEMO).await {
        eprintln!("ambassadors: {e}");
        std::process::exit(1);
    }
}
