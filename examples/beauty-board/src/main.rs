//! `cargo run -p beauty-board`: a seeded beauty community on 127.0.0.1
//! (options: see `demo_kit::run`).

#[tokio::main]
async fn main() {
    if let Err(e) = demo_kit::run(beauty_board::DEMO).await {
        eprintln!("beauty-board: {e}");
        std::process::exit(1);
    }
}
