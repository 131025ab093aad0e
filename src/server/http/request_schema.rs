//! Request bodies are checked against the same OpenAPI document the server publishes, before
//! they are read into Rust types: what the document refuses, the server refuses, with a 400
//! that names the field and the bound (`/subject/text: longer than 65536 characters`), and
//! nothing the document allows is refused for its shape. Checks a schema cannot say (a cursor
//! the server did not make, a filter's grammar) stay in the handlers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use jsonschema::{Draft, Validator};
use serde_json::{Map, Value, json};

/// The component schemas of one OpenAPI document, and a validator per request body schema,
/// compiled on first use. The router holds the server's own (`openapi::request_schemas`);
/// this module never reads the document itself, which is generated from the handlers that
/// use these checks.
pub struct RequestSchemas {
    /// Every component schema of the document, for `$ref`s between them.
    components: Value,
    validators: Mutex<HashMap<String, Arc<Validator>>>,
}

impl RequestSchemas {
    /// The schemas of `document` (OpenAPI JSON); none when it cannot be read, so that every
    /// check then fails as a server fault rather than passing.
    pub fn of_document(document: &str) -> RequestSchemas {
        let doc: Value = serde_json::from_str(document).unwrap_or(Value::Null);
        RequestSchemas {
            components: doc
                .pointer("/components/schemas")
                .cloned()
                .unwrap_or_else(|| Value::Object(Map::new())),
            validators: Mutex::default(),
        }
    }

    fn validator(&self, name: &str) -> Result<Arc<Validator>, String> {
        let mut cache = self
            .validators
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(v) = cache.get(name) {
            return Ok(Arc::clone(v));
        }
        let root = json!({
            "$ref": format!("#/components/schemas/{name}"),
            "components": { "schemas": self.components.clone() },
        });
        let built = jsonschema::options()
            .with_draft(Draft::Draft202012)
            .should_validate_formats(true)
            .build(&root)
            .map_err(|e| format!("the schema of {name} does not compile: {e}"))?;
        let built = Arc::new(built);
        cache.insert(name.to_owned(), Arc::clone(&built));
        Ok(built)
    }

    /// Why `body` is not a `name` as the document describes it; `Ok` when it is. Errors name
    /// the place in the body (a JSON pointer) and the rule, never the value (it may be
    /// megabytes). `Err(Err(..))`: the document itself is broken, a server fault.
    pub fn check(&self, name: &str, body: &Value) -> Result<(), Result<String, String>> {
        let validator = self.validator(name).map_err(Err)?;
        let mut problems: Vec<String> = validator
            .iter_errors(body)
            .take(3)
            .map(|e| {
                let at = dotted(e.instance_path());
                // A short value is quoted, to say what was wrong with it; a long one is not
                // (it may be megabytes, or hostile text).
                let short =
                    serde_json::to_string(e.instance().as_ref()).is_ok_and(|t| t.len() <= 80);
                let mut what = if short {
                    e.to_string()
                } else {
                    e.masked().to_string()
                };
                if what.contains("does not match") && what.contains("u3000") {
                    what = "must not be blank".to_owned();
                }
                if at.is_empty() {
                    format!("body: {what}")
                } else {
                    format!("{at}: {what}")
                }
            })
            .collect();
        if problems.is_empty() {
            return Ok(());
        }
        problems.dedup();
        Err(Ok(problems.join("; ")))
    }
}

/// `subject.countries[2]` for the pointer `/subject/countries/2`.
fn dotted(path: &jsonschema::paths::Location) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            jsonschema::paths::LocationSegment::Property(name) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(&name);
            }
            jsonschema::paths::LocationSegment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// JSON has one kind of number: `300.0` is the integer 300 to JSON Schema, and so to the
/// server. Rewrites integral floats as integers so that serde reads them into integer fields.
pub fn integral_floats_as_integers(value: &mut Value) {
    match value {
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f.is_finite()
            {
                // Outside i64/u64 an integer field refuses it anyway, as its bounds say.
                if (-9.2e18..=9.2e18).contains(&f) {
                    *value = Value::from(f as i64);
                } else if f > 0.0 && f <= 1.8e19 {
                    *value = Value::from(f as u64);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_floats_as_integers),
        Value::Object(fields) => fields.values_mut().for_each(integral_floats_as_integers),
        _ => {}
    }
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integral_floats_become_integers_and_others_stay() {
        let mut v = json!({"a": 208.0, "b": [1.5, -3.0], "c": "4.0"});
        integral_floats_as_integers(&mut v);
        assert_eq!(v, json!({"a": 208, "b": [1.5, -3], "c": "4.0"}));
    }

    #[test]
    fn a_claim_body_is_checked_against_the_document() {
        let schemas = RequestSchemas::of_document(&crate::server::openapi_json());
        let check = |name: &str, body: &Value| schemas.check(name, body);
        assert_eq!(check("ClaimRequest", &json!({"limit": 5})), Ok(()));
        let refused = check("ClaimRequest", &json!([])).unwrap_err().unwrap();
        assert!(refused.contains("object"), "{refused}");
        let refused = check("ClaimRequest", &json!({"lease_seconds": 2_169_784_018u64}))
            .unwrap_err()
            .unwrap();
        assert!(refused.starts_with("lease_seconds: "), "{refused}");
        let refused = check("ClaimRequest", &json!({"lmit": 5}))
            .unwrap_err()
            .unwrap();
        assert!(refused.contains("lmit"), "{refused}");
    }
}
