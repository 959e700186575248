//! Upstream's Job strategy on create: unless `spec.manualSelector` is set, a Job selects its
//! pods by its own UID — the template gets the `controller-uid` and `job-name` labels (both
//! the `batch.kubernetes.io/` ones and the legacy bare ones) and the selector matches the UID.
//! Runs once the UID and the (possibly generated) name are known, as upstream runs it in
//! validation.

use serde_json::{Value, json};

const LABELS: [(&str, bool); 4] = [
    ("job-name", false),
    ("batch.kubernetes.io/job-name", false),
    ("controller-uid", true),
    ("batch.kubernetes.io/controller-uid", true),
];

/// Fills in the generated selector and template labels of a new Job.
pub fn generate_selector(job: &mut Value) {
    if job.pointer("/spec/manualSelector") == Some(&json!(true)) {
        return;
    }
    let name = job
        .pointer("/metadata/name")
        .cloned()
        .unwrap_or(Value::Null);
    let uid = job.pointer("/metadata/uid").cloned().unwrap_or(Value::Null);
    let Some(spec) = job.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    let template = spec.entry("template").or_insert_with(|| json!({}));
    if let Some(template) = template.as_object_mut() {
        let metadata = template.entry("metadata").or_insert_with(|| json!({}));
        if let Some(metadata) = metadata.as_object_mut() {
            let labels = metadata.entry("labels").or_insert_with(|| json!({}));
            if let Some(labels) = labels.as_object_mut() {
                for (key, is_uid) in LABELS {
                    let value = if is_uid { &uid } else { &name };
                    labels.entry(key).or_insert_with(|| value.clone());
                }
            }
        }
    }
    let selector = spec.entry("selector").or_insert_with(|| json!({}));
    if let Some(selector) = selector.as_object_mut() {
        let labels = selector.entry("matchLabels").or_insert_with(|| json!({}));
        if let Some(labels) = labels.as_object_mut() {
            labels
                .entry("batch.kubernetes.io/controller-uid")
                .or_insert_with(|| uid.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_selects_its_pods_by_its_uid_unless_told_otherwise() {
        let mut job = json!({"metadata": {"name": "pi", "uid": "u-1"},
            "spec": {"template": {"metadata": {"labels": {"app": "pi"}}, "spec": {}}}});
        generate_selector(&mut job);
        assert_eq!(
            job["spec"]["selector"],
            json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}})
        );
        let labels = &job["spec"]["template"]["metadata"]["labels"];
        assert_eq!(labels["app"], "pi");
        assert_eq!(labels["job-name"], "pi");
        assert_eq!(labels["batch.kubernetes.io/job-name"], "pi");
        assert_eq!(labels["controller-uid"], "u-1");
        let mut manual = json!({"metadata": {"name": "m", "uid": "u"}, "spec": {"manualSelector": true,
            "selector": {"matchLabels": {"a": "b"}}}});
        let before = manual.clone();
        generate_selector(&mut manual);
        assert_eq!(manual, before);
    }
}
