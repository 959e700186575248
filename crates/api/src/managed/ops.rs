//! The two ways a write moves ownership. An update takes every field it changes from whoever
//! owned it; an apply claims exactly the fields of its configuration, may not change a field
//! another manager owns unless forced (a conflict), and removes the fields it applied before
//! but no longer does, unless someone else owns them too.

use super::entries::{Entry, Operation};
use super::extract::{compare, fields};
use super::fieldset::{Element, FieldSet, describe};
use super::merge::{merge, prune};
use super::shape::Shape;
use serde_json::Value;

/// Who writes, through what.
#[derive(Debug, Clone, Copy)]
pub struct Writer<'a> {
    /// The field manager.
    pub manager: &'a str,
    /// The API version of the request.
    pub api_version: &'a str,
    /// The subresource written through (`status`, `scale`).
    pub subresource: Option<&'a str>,
    /// Now, as an RFC 3339 timestamp.
    pub time: &'a str,
}

impl Writer<'_> {
    fn entry<'e>(&self, entries: &'e mut Vec<Entry>, operation: Operation) -> &'e mut Entry {
        let found = entries.iter().position(|e| {
            e.is(self.manager, operation, self.subresource)
                && (operation == Operation::Apply || e.api_version == self.api_version)
        });
        let i = found.unwrap_or_else(|| {
            entries.push(Entry {
                manager: self.manager.to_owned(),
                operation,
                api_version: self.api_version.to_owned(),
                time: None,
                subresource: self.subresource.map(str::to_owned),
                fields: FieldSet::new(),
            });
            entries.len() - 1
        });
        &mut entries[i]
    }
}

/// Records an update from `old` to `new` by `writer` into `entries`.
pub fn update(
    old: &Value,
    new: &Value,
    entries: &mut Vec<Entry>,
    writer: &Writer<'_>,
    shape: &dyn Shape,
) {
    let changes = compare(old, new, shape);
    for entry in entries.iter_mut() {
        entry.fields = entry.fields.difference(&changes.removed);
        let mine = entry.is(writer.manager, Operation::Update, writer.subresource)
            && entry.api_version == writer.api_version;
        if !mine {
            entry.fields = entry.fields.difference(&changes.changed);
        }
    }
    if !changes.changed.is_empty() {
        let mine = writer.entry(entries, Operation::Update);
        mine.fields.union(&changes.changed);
        mine.time = Some(writer.time.to_owned());
    }
    entries.retain(|e| !e.fields.is_empty());
    cap_updates(entries);
}

/// The most update entries an object keeps, as upstream (`DefaultMaxUpdateManagers`).
pub const MAX_UPDATE_MANAGERS: usize = 10;
/// The manager the oldest update entries are merged into beyond the cap.
pub const ANCIENT_CHANGES: &str = "ancient-changes";

/// Keeps at most [`MAX_UPDATE_MANAGERS`] update entries: the oldest are merged, version by
/// version, into an `ancient-changes` entry (the first oldest of a version becomes it).
fn cap_updates(entries: &mut Vec<Entry>) {
    let updates = |entries: &[Entry]| {
        entries
            .iter()
            .filter(|e| e.operation == Operation::Update)
            .count()
    };
    // Each round merges an entry away or names a version's bucket: both run out.
    for _ in 0..entries.len() * 2 {
        if updates(entries) <= MAX_UPDATE_MANAGERS {
            return;
        }
        let oldest = entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.operation == Operation::Update && e.manager != ANCIENT_CHANGES)
            .min_by(|(_, a), (_, b)| a.time.cmp(&b.time))
            .map(|(i, _)| i);
        let Some(oldest) = oldest else {
            return;
        };
        let bucket = entries.iter().position(|e| {
            e.manager == ANCIENT_CHANGES
                && e.operation == Operation::Update
                && e.subresource.is_none()
                && e.api_version == entries[oldest].api_version
        });
        match bucket {
            Some(bucket) => {
                let merged = entries.remove(oldest);
                let bucket = if bucket > oldest { bucket - 1 } else { bucket };
                entries[bucket].fields.union(&merged.fields);
                entries[bucket].time = merged.time;
            }
            _ => {
                let entry = &mut entries[oldest];
                entry.manager = ANCIENT_CHANGES.to_owned();
                entry.subresource = None;
            }
        }
    }
}

/// One field another manager owns and an apply would change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The entry owning the field (without its fields).
    pub owner: Entry,
    /// The field.
    pub path: Vec<Element>,
}

impl Conflict {
    /// The owner as upstream names it: `"kubectl" with subresource "scale" using apps/v1`
    /// (the version only for update owners).
    pub fn owner_text(&self) -> String {
        let owner = &self.owner;
        let mut text = format!("{:?}", owner.manager);
        if let Some(sub) = &owner.subresource {
            text.push_str(&format!(" with subresource {sub:?}"));
        }
        if owner.operation == Operation::Update {
            text.push_str(&format!(" using {}", owner.api_version));
        }
        text
    }

    /// The field as upstream prints it (`.spec.replicas`).
    pub fn field(&self) -> String {
        describe(&self.path)
    }
}

/// The message of a refused apply: one line for one conflict, otherwise the fields listed
/// under each owner.
pub fn conflict_message(conflicts: &[Conflict]) -> String {
    if let [only] = conflicts {
        return format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            only.owner_text(),
            only.field()
        );
    }
    let mut owners: Vec<String> = conflicts.iter().map(Conflict::owner_text).collect();
    owners.sort();
    owners.dedup();
    let mut lines = Vec::new();
    for owner in &owners {
        lines.push(format!("conflicts with {owner}:"));
        for conflict in conflicts.iter().filter(|c| c.owner_text() == *owner) {
            lines.push(format!("- {}", conflict.field()));
        }
    }
    format!(
        "Apply failed with {} conflicts: {}",
        conflicts.len(),
        lines.join("\n")
    )
}

/// Applies `config` by `writer` to `live`: the new object, with `entries` updated, or the
/// conflicts that refuse it (none when `force`, which takes the fields over instead).
pub fn apply(
    live: &Value,
    config: &Value,
    entries: &mut Vec<Entry>,
    writer: &Writer<'_>,
    force: bool,
    shape: &dyn Shape,
) -> Result<Value, Vec<Conflict>> {
    let claimed = fields(config, shape);
    let mut object = merge(live, config, shape);
    // Changed or cleared (by a `null`): either way a field another manager owns is contested.
    let changes = compare(live, &object, shape);
    let mut changed = changes.changed;
    changed.union(&changes.removed);
    let mut conflicts = Vec::new();
    for entry in entries.iter_mut() {
        if entry.is(writer.manager, Operation::Apply, writer.subresource) {
            continue;
        }
        let contested = entry.fields.intersection(&changed);
        if contested.is_empty() {
            continue;
        }
        if force {
            entry.fields = entry.fields.difference(&contested);
        } else {
            let owner = Entry {
                fields: FieldSet::new(),
                ..entry.clone()
            };
            conflicts.extend(contested.paths().into_iter().map(|path| Conflict {
                owner: owner.clone(),
                path,
            }));
        }
    }
    if !conflicts.is_empty() {
        return Err(conflicts);
    }
    let mine = writer.entry(entries, Operation::Apply);
    let dropped = mine.fields.difference(&claimed);
    mine.fields = claimed.clone();
    mine.api_version = writer.api_version.to_owned();
    // The time says when the applier last changed the object, not when it last asked.
    if !changed.is_empty() || !dropped.is_empty() || mine.time.is_none() {
        mine.time = Some(writer.time.to_owned());
    }
    if !dropped.is_empty() {
        // What the applier still claims stays too: a map it owned itself (`.`) keeps the
        // entries it still applies.
        let mut others = claimed;
        for entry in entries.iter() {
            if !entry.is(writer.manager, Operation::Apply, writer.subresource) {
                others.union(&entry.fields);
            }
        }
        prune(&mut object, &dropped, &others, shape);
    }
    entries.retain(|e| !e.fields.is_empty());
    Ok(object)
}
