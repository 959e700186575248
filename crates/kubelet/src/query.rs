//! Query strings of the node's endpoints: `key=value` pairs, percent- and plus-decoded, in
//! order (repeated keys such as exec's `command` keep every value).

/// The decoded pairs of `query`.
pub fn pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |text: &str| {
                urlencoding::decode(&text.replace('+', " "))
                    .map(|v| v.into_owned())
                    .unwrap_or_else(|_| text.to_owned())
            };
            (decode(key), decode(value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_decoded_and_repeats_kept() {
        assert_eq!(
            pairs("command=sh&command=echo+a%20b&tty"),
            [
                ("command".to_owned(), "sh".to_owned()),
                ("command".to_owned(), "echo a b".to_owned()),
                ("tty".to_owned(), String::new())
            ]
        );
    }
}
