//! Times rendering of pathological bodies at the default length limit:
//! the shapes that once took a second, their neighbours, and what the
//! `render_budget` fuzz target found.
//! Run with `cargo run --release -p hearth-benches --bin render-worst`;
//! files given as arguments (bodies the fuzz target wrote) are timed too.

use std::time::Instant;

use hearth::CommunitySettings;

/// `piece` repeated to fill `limit` bytes (after `prefix`).
fn fill(prefix: &str, piece: &str, limit: usize) -> String {
    let mut s = prefix.to_string();
    while s.len() + piece.len() <= limit {
        s.push_str(piece);
    }
    s
}

fn main() {
    let settings = CommunitySettings::default();
    let limit = settings.limits.body_max_bytes as usize;
    let cases: Vec<(&str, String)> = vec![
        ("<div/> x N", fill("", "<div/>", limit)),
        ("<div></div> x N, one line", fill("", "<div></div>", limit)),
        (
            "<div> x 15 then </div> x N",
            fill(&"<div>".repeat(15), "<b></b>", limit),
        ),
        ("<b> x N", fill("", "<b>", limit)),
        ("<p>a x N", fill("", "<p>a", limit)),
        ("<a> x N", fill("", "<a>", limit)),
        ("<br> x N", fill("x", "<br>", limit)),
        ("<td> x N", fill("<table><tr>", "<td>", limit)),
        (
            "one tag, many attributes",
            fill("<div", " a", limit - 1) + ">",
        ),
        (
            "many attributes per tag",
            fill("", "<i a b c d e f g h i j k l m n o p>", limit),
        ),
        ("<b><i> mis-nested", fill("", "<b><i></b></i>", limit)),
        (
            "table cells",
            fill("| a | b |\n|---|---|\n", "| x | y |\n", limit),
        ),
        ("list items", fill("", "- a\n", limit)),
        ("emphasis", fill("", "*a* ", limit)),
        ("links", fill("", "[a](/b) ", limit)),
        ("mentions", fill("", "@bob ", limit)),
        ("entities", fill("", "&amp;", limit)),
        ("backticks", fill("", "`a", limit)),
        ("brackets", fill("", "[", limit)),
        ("quotes", fill("", "> a\n", limit)),
        ("footnotes", fill("", "[^a]", limit)),
        ("plain text", fill("", "lorem ipsum ", limit)),
        ("< x N (fuzzer)", fill("", "<", limit)),
        ("> x N", fill("", ">", limit)),
        (
            "> x N, then a line (fuzzer)",
            fill("", ">", limit - 2) + "\nC",
        ),
        ("& x N", fill("", "&", limit)),
        ("\" x N", fill("", "\"", limit)),
        ("a< x N", fill("", "a<", limit)),
        (
            "<select> x 5, <div>, &#x x N (fuzzer)",
            fill(
                "<select><select><select><select><select><img src=x><div>",
                "&#x",
                limit,
            ),
        ),
        ("&#x x N", fill("", "&#x", limit)),
        ("<div>&#x x N", fill("<div>", "&#x", limit)),
        ("<div>&#1 x N", fill("<div>", "&#1", limit)),
        ("<div>&a x N", fill("<div>", "&a", limit)),
        (
            "</a> x 101 then & x N (fuzzer)",
            fill(&"</a>".repeat(101), "&", limit),
        ),
        (
            "# <div></div> then & x N (fuzzer)",
            fill("# <div></div>", "&", limit),
        ),
        (
            "<div></div>, & x 10,000 (the cap), then a< to the limit",
            fill(&format!("<div></div>{}", "&".repeat(10_000)), "a<", limit),
        ),
        (
            "<div></div>, & x 10,000 (the cap), then <p>a to the limit",
            fill(&format!("<div></div>{}", "&".repeat(10_000)), "<p>a", limit),
        ),
    ];
    let files = std::env::args().skip(1).filter_map(|path| {
        std::fs::read_to_string(&path)
            .inspect_err(|e| eprintln!("render-worst: {path}: {e}"))
            .ok()
            .map(|body| (path, body))
    });
    let cases: Vec<(String, String)> = cases
        .into_iter()
        .map(|(name, body)| (name.to_string(), body))
        .chain(files)
        .collect();
    println!("| body ({limit} bytes max) | result | time |");
    println!("|---|---|---|");
    let mut worst = 0.0f64;
    for (name, body) in &cases {
        let start = Instant::now();
        let mut result = "";
        for _ in 0..3 {
            result = match hearth::render_markdown(&settings, body) {
                Ok(_) => "rendered",
                Err(_) => "refused",
            };
        }
        let ms = start.elapsed().as_secs_f64() * 1000.0 / 3.0;
        worst = worst.max(ms);
        println!("| {name} | {result} | {ms:.1} ms |");
    }
    println!("\nworst: {worst:.1} ms");
}
