//! Counting why nodes refused a pod, for upstream's message (`0/5 nodes are available: 2
//! Insufficient cpu, 3 node(s) didn't match Pod's node affinity/selector.`).
//!
//! A failing attempt counts one reason per node, thousands per pod, and the reasons are
//! nearly always the same few fixed texts: a short list compared by address first finds them
//! without comparing text.

use crate::framework::Reason;
use std::borrow::Cow;

/// Reasons and how many nodes gave each.
#[derive(Debug, Default)]
pub struct Tally {
    counts: Vec<(Reason, usize)>,
}

fn same(a: &Reason, b: &Reason) -> bool {
    match (a, b) {
        (Cow::Borrowed(x), Cow::Borrowed(y)) if std::ptr::eq(*x, *y) => true,
        _ => a == b,
    }
}

impl Tally {
    /// Counts `n` nodes refusing for `reason`.
    pub fn add(&mut self, reason: Reason, n: usize) {
        match self.counts.iter_mut().find(|(r, _)| same(r, &reason)) {
            Some((_, count)) => *count += n,
            None => self.counts.push((reason, n)),
        }
    }

    /// Counts one node refusing for each of `reasons`.
    pub fn add_all(&mut self, reasons: impl IntoIterator<Item = Reason>) {
        for reason in reasons {
            self.add(reason, 1);
        }
    }

    /// The message over `total` nodes: each reason with its count, sorted as text (as
    /// upstream sorts them).
    pub fn message(&self, total: usize) -> String {
        let mut parts: Vec<String> = self
            .counts
            .iter()
            .map(|(r, n)| format!("{n} {r}"))
            .collect();
        parts.sort();
        format!("0/{total} nodes are available: {}.", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_count_together_whether_borrowed_or_owned() {
        let mut tally = Tally::default();
        tally.add("Insufficient cpu".into(), 2);
        tally.add(Reason::Owned("Insufficient cpu".to_owned()), 1);
        tally.add_all(["node(s) had untolerated taint {a: b}".into()]);
        assert_eq!(
            tally.message(5),
            "0/5 nodes are available: 1 node(s) had untolerated taint {a: b}, 3 Insufficient cpu."
        );
    }
}
