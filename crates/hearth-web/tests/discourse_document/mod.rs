//! Discourse's API document (`docs/discourse/openapi.json`) with what
//! Hearth sends beyond it (`docs/discourse/additions.json`) merged in: the
//! contract both the schema checks of `discourse_contract.rs` and the
//! schema-driven run of the support demo (`api_schema.rs`) hold answers to.

use serde_json::Value;

/// The document with `additions.json` merged in: each listed field added
/// to the schema it names (refused if the document has it there already),
/// each correction replacing the schema's keys it names.
pub fn document() -> Value {
    let read = |name: &str| -> Value {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../docs/discourse")
            .join(name);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let mut doc = read("openapi.json");
    let additions = read("additions.json");
    fn schema_at<'a>(doc: &'a mut Value, entry: &Value) -> &'a mut Value {
        let op = entry["operation"].as_str().expect("operation");
        let (method, path) = op.split_once(' ').expect("METHOD /path");
        let escape = |s: &str| s.replace('~', "~0").replace('/', "~1");
        let pointer = format!(
            "/paths/{}/{}/responses/200/content/application~1json/schema{}",
            escape(path),
            method.to_lowercase(),
            entry["at"].as_str().expect("at")
        );
        doc.pointer_mut(&pointer)
            .unwrap_or_else(|| panic!("additions.json: no schema at {op} {pointer}"))
    }
    for entry in additions["fields"].as_array().expect("fields") {
        let schema = schema_at(&mut doc, entry);
        assert!(
            ["document", "discourse", "solved", "hearth"]
                .contains(&entry["origin"].as_str().unwrap_or_default()),
            "additions.json: origin of {entry}"
        );
        assert!(
            entry["why"].as_str().is_some_and(|w| !w.is_empty()),
            "why: {entry}"
        );
        let props = schema
            .as_object_mut()
            .and_then(|o| o.get_mut("properties"))
            .and_then(Value::as_object_mut)
            .unwrap_or_else(|| panic!("additions.json: {entry} names no object schema"));
        for (name, field) in entry["properties"].as_object().expect("properties") {
            assert!(
                !props.contains_key(name),
                "additions.json: the document already has {name} at {}",
                entry["at"]
            );
            props.insert(name.clone(), field.clone());
        }
    }
    for entry in additions["corrections"].as_array().expect("corrections") {
        let schema = schema_at(&mut doc, entry);
        assert!(
            entry["why"].as_str().is_some_and(|w| !w.is_empty()),
            "why: {entry}"
        );
        let node = schema.as_object_mut().expect("a schema object");
        for (k, v) in entry["schema"].as_object().expect("schema") {
            node.insert(k.clone(), v.clone());
        }
    }
    doc
}
