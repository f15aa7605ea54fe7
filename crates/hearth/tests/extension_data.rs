//! The extension store read in bulk: `Forum::ext_get_many` on both
//! backends, at its bound, and `Forum::ext_list` by prefix.
#![allow(clippy::unwrap_used)]

mod common;

use common::TestForum;
use hearth::{Error, ExtOp, MAX_EXT_KEYS_READ};

#[test]
fn many_keys_are_read_in_order_up_to_the_bound() {
    let t = TestForum::new();
    let f = &t.forum;
    let ops: Vec<ExtOp> = (0..MAX_EXT_KEYS_READ)
        .filter(|i| !i.is_multiple_of(3))
        .map(|i| ExtOp::Put {
            key: format!("post/{i}"),
            value: i.to_string().into_bytes(),
        })
        .collect();
    f.ext_apply("plugin:test", None, &ops).unwrap();
    // The bound exactly: every key, in the order asked, None where unset.
    let keys: Vec<String> = (0..MAX_EXT_KEYS_READ)
        .rev()
        .map(|i| format!("post/{i}"))
        .collect();
    let got = f.ext_get_many("plugin:test", None, &keys).unwrap();
    assert_eq!(got.len(), MAX_EXT_KEYS_READ);
    for (key, value) in keys.iter().zip(&got) {
        let i: usize = key["post/".len()..].parse().unwrap();
        let expected = (!i.is_multiple_of(3)).then(|| i.to_string().into_bytes());
        assert_eq!(value, &expected, "{key}");
    }
    // Another namespace or community sees none of them.
    let other = f.ext_get_many("plugin:other", None, &keys[..3]).unwrap();
    assert_eq!(other, [None, None, None]);
    // One over the bound: a typed refusal, nothing read.
    let too_many: Vec<String> = (0..=MAX_EXT_KEYS_READ).map(|i| format!("k{i}")).collect();
    assert!(matches!(
        f.ext_get_many("plugin:test", None, &too_many),
        Err(Error::Invalid { .. })
    ));
    // A key over its own bound is refused too.
    let long = vec!["k".repeat(hearth::MAX_EXT_KEY + 1)];
    assert!(matches!(
        f.ext_get_many("plugin:test", None, &long),
        Err(Error::Invalid { .. })
    ));
    assert_eq!(
        f.ext_get_many("plugin:test", None, &[]).unwrap(),
        Vec::<Option<Vec<u8>>>::new()
    );
}

#[test]
fn repeated_keys_and_short_chunks_answer_each_place() {
    let t = TestForum::new();
    let f = &t.forum;
    let put = |community, key: &str, value: &str| {
        f.ext_apply(
            "plugin:test",
            community,
            &[ExtOp::Put {
                key: key.into(),
                value: value.as_bytes().to_vec(),
            }],
        )
        .unwrap();
    };
    put(None, "a", "site a");
    put(None, "", "the empty key");
    let owner = f.create_user(hearth::NewUser::new("ada")).unwrap().id;
    let (c, _) = common::one_category_with(f, owner, "acme", Default::default());
    put(Some(c), "a", "community a");
    // 17 places: a full chunk and one of a single key; "a" three times,
    // the empty key, and keys nobody set.
    let mut keys: Vec<String> = (0..14).map(|i| format!("unset/{i}")).collect();
    keys.insert(3, "a".into());
    keys.push(String::new());
    keys.push("a".into());
    keys[10] = "a".into();
    let got = f.ext_get_many("plugin:test", None, &keys).unwrap();
    assert_eq!(got.len(), keys.len());
    for (key, value) in keys.iter().zip(&got) {
        let expected = match key.as_str() {
            "a" => Some(b"site a".to_vec()),
            "" => Some(b"the empty key".to_vec()),
            _ => None,
        };
        assert_eq!(value, &expected, "{key:?}");
    }
    let scoped = f
        .ext_get_many("plugin:test", Some(c), &["a".into(), String::new()])
        .unwrap();
    assert_eq!(scoped, [Some(b"community a".to_vec()), None]);
}

/// Lists `prefix` page by page (`page` keys at a time), as plugins do.
fn list_all(f: &hearth::Forum, prefix: &str, page: usize) -> Vec<String> {
    let mut keys = Vec::new();
    let mut after = String::new();
    loop {
        let got = f
            .ext_list("plugin:test", None, prefix, &after, page)
            .unwrap();
        let Some((last, _)) = got.last() else {
            return keys;
        };
        after = last.clone();
        let n = got.len();
        keys.extend(got.into_iter().map(|(k, _)| k));
        if n < page {
            return keys;
        }
    }
}

#[test]
fn a_prefix_lists_exactly_its_keys_in_byte_order_on_both_backends() {
    let t = TestForum::new();
    let f = &t.forum;
    // Keys a language's collation would order (or group) differently:
    // punctuation, case, accents, characters outside the BMP and at the
    // edges of UTF-8's ranges — beside and inside the prefixes listed.
    let mut all: Vec<String> = [
        "post/1",
        "post/1/a",
        "post/10",
        "post-1",
        "post/",
        "post0",
        "Post/1",
        "posT/1",
        "é/1",
        "é/2",
        "é",
        "e/1",
        "f/1",
        "\u{D7FF}/1",
        "\u{E000}/1",
        "\u{FFFF}/1",
        "\u{10000}/1",
        "\u{10FFFF}",
        "\u{10FFFF}/1",
        "\u{10FFFF}\u{10FFFF}",
        "z",
    ]
    .iter()
    .map(|k| k.to_string())
    .collect();
    // Many keys after every prefix: a listing must not depend on them.
    all.extend((0..300).map(|i| format!("zz/{i:03}")));
    let ops: Vec<ExtOp> = all
        .iter()
        .map(|k| ExtOp::Put {
            key: k.clone(),
            value: b"v".to_vec(),
        })
        .collect();
    f.ext_apply("plugin:test", None, &ops).unwrap();
    let mut sorted = all.clone();
    sorted.sort(); // Rust's str order is byte order
    for prefix in [
        "",
        "post",
        "post/",
        "post/1",
        "é",
        "é/",
        "e",
        "\u{D7FF}",
        "\u{10FFFF}",
        "zz/",
        "zz/29",
        "nothing",
    ] {
        let expected: Vec<String> = sorted
            .iter()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect();
        for page in [1, 7, 1000] {
            assert_eq!(
                list_all(f, prefix, page),
                expected,
                "prefix {prefix:?}, pages of {page}"
            );
        }
    }
}
