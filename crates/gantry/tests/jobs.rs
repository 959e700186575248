//! Jobs end to end on a real node: completions with parallelism, an Indexed Job's indexes, a
//! failing Job stopping at its `backoffLimit` with upstream's condition and event, and a
//! CronJob running every minute and keeping its history limit.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

mod common;

use common::kubectl::Kubectl;
use common::node::start_node;
use common::poll_for;
use std::time::Duration;

fn job(name: &str, spec: &str, command: &str) -> String {
    format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {{name: {name}}}\nspec:\n{spec}  template:\n    spec:\n      restartPolicy: Never\n      terminationGracePeriodSeconds: 1\n      containers:\n      - name: c\n        image: busybox:1.36\n        command: [sh, -c, \"{command}\"]\n"
    )
}

fn conditions(k: &Kubectl, name: &str) -> String {
    k.ok(&[
        "get",
        "job",
        name,
        "-o",
        "jsonpath={range .status.conditions[*]}{.type}={.status}/{.reason};{end}",
    ])
}

#[test]
fn jobs_complete_index_and_stop_at_their_backoff_limit() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_node(dir.path(), "e2e-node-11", "gte2e11", "10.42.113.0/24");
    let k = Kubectl::new(33, &server.kubeconfig);
    let write = |name: &str, text: String| {
        let file = dir.path().join(format!("{name}.yaml"));
        std::fs::write(&file, text).unwrap();
        k.ok(&["apply", "-f", file.to_str().unwrap()]);
    };
    write(
        "work",
        job("work", "  completions: 5\n  parallelism: 2\n", "sleep 1"),
    );
    write(
        "indexed",
        job(
            "indexed",
            "  completions: 3\n  parallelism: 3\n  completionMode: Indexed\n",
            "test -n \\\"$JOB_COMPLETION_INDEX\\\"",
        ),
    );
    write("broken", job("broken", "  backoffLimit: 1\n", "exit 1"));

    let out = k.ok(&[
        "wait",
        "--for=condition=Complete",
        "job/work",
        "--timeout=120s",
    ]);
    assert!(out.contains("condition met"), "{out}");
    let status = k.ok(&[
        "get",
        "job",
        "work",
        "-o",
        "jsonpath={.status.succeeded}/{.status.active}/{.status.failed}",
    ]);
    assert_eq!(status, "5//");
    assert!(
        conditions(&k, "work").contains("Complete=True/CompletionsReached"),
        "{}",
        conditions(&k, "work")
    );
    let pods = k.ok(&["get", "pods", "-l", "job-name=work", "-o", "name"]);
    assert_eq!(pods.lines().count(), 5, "one pod per completion: {pods}");
    let events = k.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.kind=Job,involvedObject.name=work",
    ]);
    assert!(
        events.contains("Completed") && events.contains("Job completed"),
        "{events}"
    );

    k.ok(&[
        "wait",
        "--for=condition=Complete",
        "job/indexed",
        "--timeout=120s",
    ]);
    assert_eq!(
        k.ok(&[
            "get",
            "job",
            "indexed",
            "-o",
            "jsonpath={.status.completedIndexes}"
        ]),
        "0-2"
    );
    let indexes = k.ok(&[
        "get",
        "pods",
        "-l",
        "job-name=indexed",
        "-o",
        "jsonpath={.items[*].metadata.annotations.batch\\.kubernetes\\.io/job-completion-index}",
    ]);
    let mut indexes: Vec<&str> = indexes.split_whitespace().collect();
    indexes.sort_unstable();
    assert_eq!(indexes, ["0", "1", "2"]);

    let out = k.ok(&[
        "wait",
        "--for=condition=Failed",
        "job/broken",
        "--timeout=120s",
    ]);
    assert!(out.contains("condition met"), "{out}");
    assert!(
        conditions(&k, "broken").contains("Failed=True/BackoffLimitExceeded"),
        "{}",
        conditions(&k, "broken")
    );
    assert_eq!(
        k.ok(&["get", "job", "broken", "-o", "jsonpath={.status.failed}"]),
        "2",
        "the first try and one retry"
    );
    let events = k.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.kind=Job,involvedObject.name=broken",
    ]);
    assert!(
        events.contains("Job has reached the specified backoff limit"),
        "{events}"
    );
    server.stop();
}

#[test]
fn a_cron_job_runs_on_schedule_and_keeps_its_history_limit() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_node(dir.path(), "e2e-node-12", "gte2e12", "10.42.114.0/24");
    let k = Kubectl::new(33, &server.kubeconfig);
    let file = dir.path().join("tick.yaml");
    std::fs::write(
        &file,
        "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: tick}\nspec:\n  schedule: \"* * * * *\"\n  successfulJobsHistoryLimit: 1\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: Never\n          containers: [{name: c, image: busybox:1.36, command: [\"true\"]}]\n",
    )
    .unwrap();
    k.ok(&["apply", "-f", file.to_str().unwrap()]);
    // An earlier run, finished long ago (suspended, so it never ran a pod), owned by the CronJob.
    let uid = k.ok(&["get", "cronjob", "tick", "-o", "jsonpath={.metadata.uid}"]);
    let old = dir.path().join("old.yaml");
    std::fs::write(
        &old,
        format!("apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: tick-old\n  ownerReferences: [{{apiVersion: batch/v1, kind: CronJob, name: tick, uid: {uid}, controller: true}}]\nspec:\n  suspend: true\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{{name: c, image: busybox:1.36}}]\n"),
    )
    .unwrap();
    k.ok(&["apply", "-f", old.to_str().unwrap()]);
    k.ok(&["patch", "job", "tick-old", "--subresource=status", "--type=merge", "-p",
        r#"{"status":{"startTime":"2020-01-01T00:00:00Z","completionTime":"2020-01-01T00:01:00Z","conditions":[{"type":"SuccessCriteriaMet","status":"True"},{"type":"Complete","status":"True"}]}}"#]);

    // Within a minute a Job named after its scheduled minute runs and completes; the old run,
    // beyond the history limit of 1, goes.
    let jobs = poll_for(Duration::from_secs(120), || {
        let names = k.ok(&["get", "jobs", "-o", "jsonpath={range .items[?(@.metadata.ownerReferences[0].name==\"tick\")]}{.metadata.name}={.status.succeeded} {end}"]);
        let names = names.trim().to_owned();
        let one_done = names.split_whitespace().count() == 1
            && names.starts_with("tick-")
            && !names.starts_with("tick-old")
            && names.ends_with("=1");
        if one_done { names } else { String::new() }
    });
    assert!(
        !jobs.is_empty(),
        "no scheduled run completed alone: {}",
        k.ok(&["get", "jobs"])
    );
    let minutes: i64 = jobs
        .trim_start_matches("tick-")
        .split('=')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        minutes > 29_000_000,
        "named after minutes since the epoch: {jobs}"
    );
    let status = k.ok(&[
        "get",
        "cronjob",
        "tick",
        "-o",
        "jsonpath={.status.lastScheduleTime}|{.status.lastSuccessfulTime}",
    ]);
    let (scheduled, succeeded) = status.split_once('|').unwrap();
    assert!(
        scheduled.ends_with(":00Z") && !succeeded.is_empty(),
        "{status}"
    );
    let events = k.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.kind=CronJob",
    ]);
    assert!(
        events.contains("SuccessfulCreate") && events.contains("Created job tick-"),
        "{events}"
    );
    assert!(events.contains("Deleted job tick-old"), "{events}");
    server.stop();
}
