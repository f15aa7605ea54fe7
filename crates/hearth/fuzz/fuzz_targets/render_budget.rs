//! Fuzzes rendering time: any body up to the default length limit must
//! render (or be refused) within 50 ms of CPU time in a release build.
//!
//! The fuzzer's build is instrumented for coverage, which makes rendering
//! about 3.4 times slower than release (measured: 108 ms here against
//! 32 ms in `render-worst` for the same body), so the target fails above
//! `RENDER_BUDGET_MS` (default 170 ms, 50 ms × 3.4); confirm each finding
//! in release with `cargo run --release -p hearth-benches --bin render-worst`.
//!
//! The input is a recipe rather than the body itself, so that the fuzzer
//! reaches the long, repetitive documents that are slow to parse and
//! sanitize: each step picks a fragment (from the hostile list below, or
//! raw bytes of the input) and a repeat count, and the steps are expanded
//! up to the length limit. Run from `crates/hearth` with
//! `cargo +nightly fuzz run render_budget --sanitizer none --release -- -max_len=256`
//! (no sanitizer: AddressSanitizer's slow-down would blur the timing).
//! With `RENDER_BUDGET_BODIES=<dir>` a failing input's expanded body is
//! written there too, to time it in release with `render-worst <file>…`.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// The budget per body in this instrumented build, CPU time.
fn budget_ms() -> f64 {
    std::env::var("RENDER_BUDGET_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(170.0)
}

const FRAGMENTS: &[&str] = &[
    "<div>", "</div>", "<div/>", "<b>", "</b>", "<i>", "</i>", "<p>", "</p>", "<a href=x>",
    "</a>", "<table>", "<tr>", "<td>", "</td>", "<li>", "<ul>", "<ol>", "<br>", "<img src=x>",
    "<span>", "<svg>", "<math>", "<template>", "<select>", "<option>", "<textarea>",
    "<script>", "<style>", "<!--", "-->", "<![CDATA[", "]]>", "<details>", "<summary>",
    " a", " a=\"", "\"", "'", "=", ">", "<", "/", "&amp;", "&#x", ";", "\n", "\n\n", " ",
    "> ", "- ", "1. ", "* ", "*", "**", "_", "__", "~~", "`", "```", "    ", "[", "]", "(",
    ")", "](", "[^a]", "[^a]: ", "|", "| a |", "|---|", "#", "# ", "@bob", "@", "\\",
    "- [ ] ", "- [x] ", "<h3>", "</h3>", "<blockquote>", "<pre>", "<code>", "\t", "!", "![",
    "http://x.y/", "<http://x>", "<x@y.z>", "<b/>", "<i/>", "<b><i>", "</b></i>",
];

/// Expands a recipe: `[selector, repeat]` pairs; a selector past the
/// fragment list takes the next `selector - len` bytes of the recipe as
/// a literal fragment.
fn expand(recipe: &[u8], limit: usize) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i + 1 < recipe.len() && out.len() < limit {
        let sel = recipe[i] as usize;
        let repeat = 1 + (recipe[i + 1] as usize).pow(2);
        i += 2;
        let literal;
        let piece: &str = if sel < FRAGMENTS.len() {
            FRAGMENTS[sel]
        } else {
            let n = (sel - FRAGMENTS.len()).min(recipe.len() - i).min(16);
            literal = String::from_utf8_lossy(&recipe[i..i + n]).into_owned();
            i += n;
            &literal
        };
        if piece.is_empty() {
            continue;
        }
        for _ in 0..repeat {
            if out.len() + piece.len() > limit {
                break;
            }
            out.push_str(piece);
        }
    }
    out
}

fn cpu_ms() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    t.tv_sec as f64 * 1000.0 + t.tv_nsec as f64 / 1e6
}

fuzz_target!(|recipe: &[u8]| {
    let settings = hearth::CommunitySettings::default();
    let limit = settings.limits.body_max_bytes as usize;
    let body = expand(recipe, limit);
    let start = cpu_ms();
    let result = hearth::render_markdown(&settings, &body);
    let spent = cpu_ms() - start;
    let budget = budget_ms();
    if spent > budget {
        // Measure again: one slow run can be the machine, two are the body.
        let again_start = cpu_ms();
        let _ = hearth::render_markdown(&settings, &body);
        let again = cpu_ms() - again_start;
        if again > budget
            && let Ok(dir) = std::env::var("RENDER_BUDGET_BODIES")
        {
            // The expanded body, for timing in release with
            // `render-worst <file>` (the recipe alone needs this target).
            let name = format!("{dir}/body-{}-{:.0}ms.md", body.len(), again);
            let _ = std::fs::write(name, &body);
        }
        assert!(
            again <= budget,
            "{} bytes took {spent:.1} ms then {again:.1} ms ({}): {:?}",
            body.len(),
            if result.is_ok() { "rendered" } else { "refused" },
            &body[..body.len().min(300)]
        );
    }
});
