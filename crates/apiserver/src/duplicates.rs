//! Duplicate fields in a JSON request body (`{"replicas": 1, "replicas": 2}`), which a JSON
//! parser silently resolves to the last one. Upstream's strict decoding reports them, by path
//! (`spec.replicas`, `spec.containers[0].image`), with the unknown fields: refused under
//! `fieldValidation=Strict`, a warning under `Warn`.

/// How deep the scan goes: the JSON parser refuses deeper bodies anyway (serde_json's limit),
/// and the scan must not recurse without bound on hostile input.
const MAX_DEPTH: usize = 128;

/// The paths of the fields `body` repeats within one object, in document order. A body that
/// is not well-formed JSON, or nested deeper than the parser accepts, yields what was found
/// before (the parser reports the error).
pub fn find(body: &[u8]) -> Vec<String> {
    let mut scanner = Scanner {
        bytes: body,
        at: 0,
        depth: 0,
        found: Vec::new(),
    };
    let _ = scanner.value("");
    scanner.found
}

struct Scanner<'a> {
    bytes: &'a [u8],
    at: usize,
    depth: usize,
    found: Vec<String>,
}

/// Malformed input: scanning stops.
struct Stop;

impl Scanner<'_> {
    fn skip_space(&mut self) {
        while self
            .bytes
            .get(self.at)
            .is_some_and(|b| b.is_ascii_whitespace())
        {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Result<u8, Stop> {
        self.skip_space();
        self.bytes.get(self.at).copied().ok_or(Stop)
    }

    fn value(&mut self, path: &str) -> Result<(), Stop> {
        match self.peek()? {
            b'{' | b'[' if self.depth >= MAX_DEPTH => Err(Stop),
            b'{' => {
                self.depth += 1;
                let done = self.object(path);
                self.depth -= 1;
                done
            }
            b'[' => {
                self.depth += 1;
                let done = self.array(path);
                self.depth -= 1;
                done
            }
            b'"' => self.string().map(|_| ()),
            _ => {
                // A number or a literal: up to the next delimiter.
                while self
                    .bytes
                    .get(self.at)
                    .is_some_and(|b| !matches!(b, b',' | b'}' | b']') && !b.is_ascii_whitespace())
                {
                    self.at += 1;
                }
                Ok(())
            }
        }
    }

    /// A string token, returned as its raw (quoted) bytes' range.
    fn string(&mut self) -> Result<std::ops::Range<usize>, Stop> {
        let start = self.at;
        self.at += 1;
        loop {
            match self.bytes.get(self.at).ok_or(Stop)? {
                b'\\' => self.at += 2,
                b'"' => {
                    self.at += 1;
                    return Ok(start..self.at);
                }
                _ => self.at += 1,
            }
        }
    }

    fn object(&mut self, path: &str) -> Result<(), Stop> {
        self.at += 1;
        let mut keys: std::collections::HashSet<String> = std::collections::HashSet::new();
        loop {
            match self.peek()? {
                b'}' => {
                    self.at += 1;
                    return Ok(());
                }
                b',' => self.at += 1,
                b'"' => {
                    let range = self.string()?;
                    // Escapes decoded, so `"\u0061"` and `"a"` are one key, as in Go.
                    let key: String =
                        serde_json::from_slice(&self.bytes[range]).map_err(|_| Stop)?;
                    let child = crate::schema::child_path(path, &key);
                    if !keys.insert(key) && !self.found.contains(&child) {
                        self.found.push(child.clone());
                    }
                    if self.peek()? != b':' {
                        return Err(Stop);
                    }
                    self.at += 1;
                    self.value(&child)?;
                }
                _ => return Err(Stop),
            }
        }
    }

    fn array(&mut self, path: &str) -> Result<(), Stop> {
        self.at += 1;
        let mut index = 0;
        loop {
            match self.peek()? {
                b']' => {
                    self.at += 1;
                    return Ok(());
                }
                b',' => {
                    self.at += 1;
                    index += 1;
                }
                _ => self.value(&format!("{path}[{index}]"))?,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_fields_are_found_by_path_in_document_order() {
        let body = br#"{"kind": "Deployment", "spec": {"replicas": 1, "x": "a,}", "replicas": 2,
            "template": {"spec": {"containers": [{"name": "a"}, {"name": "b", "image": "1", "\u0069mage": "2"}]}}},
            "kind": "Deployment"}"#;
        assert_eq!(
            find(body),
            [
                "spec.replicas",
                "spec.template.spec.containers[1].image",
                "kind"
            ]
        );
        assert!(find(br#"{"a": {"b": 1}, "c": {"b": 2}}"#).is_empty());
        assert!(find(b"{\"a\": ").is_empty());
        // Hostile nesting stops the scan instead of the stack.
        let deep = "[".repeat(100_000);
        assert!(find(deep.as_bytes()).is_empty());
    }
}
