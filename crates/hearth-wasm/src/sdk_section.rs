//! Reading what a plugin component says about how it was built.

/// The custom section the SDK's `register_plugin!` embeds, holding the SDK
/// version.
pub const SDK_SECTION: &str = "hearth-plugin-sdk";

/// The SDK version embedded in a component, if any.
///
/// The section's payload directly follows its name in the binary, so the
/// version is the run of version characters after the name.
pub(crate) fn sdk_version(wasm: &[u8]) -> Option<String> {
    let name = SDK_SECTION.as_bytes();
    let mut needle = vec![name.len() as u8];
    needle.extend_from_slice(name);
    let at = wasm.windows(needle.len()).position(|w| w == needle)? + needle.len();
    let version: String = wasm[at..]
        .iter()
        .take(32)
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+'))
        .map(|b| *b as char)
        .collect();
    (!version.is_empty()).then_some(version)
}

/// The versions of `hearth:plugin` interfaces a component imports, from
/// import names such as `hearth:plugin/host@0.1.0`.
pub(crate) fn imported_api_versions<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    names
        .into_iter()
        .filter(|n| n.starts_with("hearth:plugin/"))
        .map(|n| n.split_once('@').map_or("none", |(_, v)| v).to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_version_after_the_section_name() {
        let mut wasm = b"\0asm\x0d\0\x01\0junk\x00\x18\x11".to_vec();
        wasm.extend_from_slice(b"hearth-plugin-sdk0.1.0");
        wasm.push(0x01);
        assert_eq!(sdk_version(&wasm).as_deref(), Some("0.1.0"));
        assert_eq!(sdk_version(b"\0asm nothing here"), None);
    }

    #[test]
    fn api_versions_from_import_names() {
        let v = imported_api_versions([
            "hearth:plugin/host@0.2.0",
            "wasi:io/poll@0.2.0",
            "hearth:plugin/types",
        ]);
        assert_eq!(v, ["0.2.0", "none"]);
    }
}
