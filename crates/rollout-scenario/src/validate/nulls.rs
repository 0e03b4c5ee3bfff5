//! Keys written with no value: `poll_interval: ~`, `backoff:` with nothing
//! under it.
//!
//! serde reads a null as "unset" for every optional key, so such a key
//! would silently take its default: never what its writer meant, and what
//! JSON Schema validators (which see the null) refuse. A key is either
//! given a value or left out. Only `input` and `output` take null, as any
//! YAML value (DESIGN §1: `output: null` is an output, not a default).
//! The nulls are found by the [`SourceMap`](crate::source::SourceMap) as
//! it walks the file.

use crate::source::PathSegment;

use super::Validator;

/// The keys whose values are any YAML value, null included.
const ANY_VALUE: [&str; 2] = ["input", "output"];

impl Validator<'_> {
    /// Every null written as a value, but inside `input` and `output`.
    pub(super) fn nulls(&mut self) {
        for path in self.map.nulls() {
            let any_value = path
                .iter()
                .any(|s| matches!(s, PathSegment::Key(k) if ANY_VALUE.contains(&k.as_str())));
            // The document itself is refused by serde before validation.
            if any_value || path.is_empty() {
                continue;
            }
            self.problem(
                path,
                "found nothing (null)",
                Some("give it a value, or remove the key to use the default".into()),
            );
        }
    }
}
