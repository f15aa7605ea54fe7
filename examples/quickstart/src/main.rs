//! The quickstart demo: a small support community in `./data/quickstart.db`.
//!
//! Run with `cargo xtask demo` (or `cargo run -p quickstart`). The first run
//! creates and seeds the community; later runs reuse it. Pass `--fresh` to
//! start over.

use std::path::Path;

use hearth::{Actor, Forum};
use quickstart::{seed, show};

fn main() {
    if let Err(e) = run() {
        eprintln!("quickstart: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), hearth::Error> {
    let fresh = std::env::args().any(|a| a == "--fresh");
    let path = Path::new("data/quickstart.db");
    if fresh {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
    let forum = Forum::open(path)?;
    let community = match forum.community_by_slug(&Actor::System, "quickstart") {
        Ok(c) => {
            println!("Using the community in {}", path.display());
            c
        }
        Err(hearth::Error::NotFound { .. }) => seed(&forum)?,
        Err(e) => return Err(e),
    };
    show(&forum, &community)
}
