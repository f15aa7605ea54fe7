//! The extension store read in bulk: `Forum::ext_get_many` on both
//! backends, at its bound.
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
