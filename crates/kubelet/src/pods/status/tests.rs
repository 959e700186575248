use super::*;
use crate::pods::runtime_state::Sandbox;

fn pod(spec: serde_json::Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": "p", "namespace": "default", "uid": "u"},
        "spec": spec,
        "status": {"conditions": [{"type": "PodScheduled", "status": "True"}]}
    }))
    .unwrap()
}

fn instance(name: &str, attempt: u32, state: State, exit_code: i32) -> Instance {
    Instance {
        id: format!("{name}-{attempt}"),
        sandbox_id: "s".into(),
        name: name.into(),
        attempt,
        state,
        created_at: 1,
        started_at: 2_000_000_000,
        finished_at: if state == State::Exited {
            3_000_000_000
        } else {
            0
        },
        exit_code,
        reason: String::new(),
        message: String::new(),
        image: "busybox".into(),
        image_ref: "sha256:abc".into(),
    }
}

fn runtime(instances: Vec<Instance>) -> PodRuntime {
    PodRuntime {
        sandboxes: vec![Sandbox {
            id: "s".into(),
            attempt: 0,
            ready: true,
            ip: Some("10.42.0.9".into()),
            created_at: 1,
        }],
        instances,
    }
}

fn compute_for(pod: &Pod, runtime: &PodRuntime, waiting: &Waiting) -> Value {
    compute(&Inputs {
        pod,
        runtime,
        waiting,
        runtime_name: "containerd",
        host_ip: "192.0.2.1",
        start_time: "T0",
        now: "T1",
        probes: &crate::pods::probes::Probes::default(),
    })
}

fn condition_of<'a>(status: &'a Value, kind: &str) -> &'a Value {
    status["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == kind)
        .unwrap()
}

#[test]
fn a_running_container_makes_the_pod_running_and_ready() {
    let pod = pod(json!({"containers": [{"name": "c", "image": "busybox"}]}));
    let status = compute_for(
        &pod,
        &runtime(vec![instance("c", 0, State::Running, 0)]),
        &Waiting::new(),
    );
    assert_eq!(status["phase"], "Running");
    assert_eq!(status["podIP"], "10.42.0.9");
    assert_eq!(status["containerStatuses"][0]["ready"], true);
    assert_eq!(
        status["containerStatuses"][0]["containerID"],
        "containerd://c-0"
    );
    assert_eq!(condition_of(&status, "Ready")["status"], "True");
    // The scheduler's condition is kept.
    assert_eq!(condition_of(&status, "PodScheduled")["status"], "True");
}

#[test]
fn a_container_not_yet_created_is_container_creating() {
    let pod = pod(json!({"containers": [{"name": "c", "image": "busybox"}]}));
    let status = compute_for(&pod, &runtime(vec![]), &Waiting::new());
    assert_eq!(status["phase"], "Pending");
    assert_eq!(
        status["containerStatuses"][0]["state"]["waiting"]["reason"],
        "ContainerCreating"
    );
    let ready = condition_of(&status, "Ready");
    assert_eq!(ready["reason"], "ContainersNotReady");
    assert_eq!(ready["message"], "containers with unready status: [c]");
}

#[test]
fn phases_follow_the_restart_policy() {
    let spec =
        |policy| json!({"restartPolicy": policy, "containers": [{"name": "a"}, {"name": "b"}]});
    let done = |a, b| {
        runtime(vec![
            instance("a", 0, State::Exited, a),
            instance("b", 0, State::Exited, b),
        ])
    };
    let phase = |policy, a, b| {
        compute_for(&pod(spec(policy)), &done(a, b), &Waiting::new())["phase"].clone()
    };
    assert_eq!(phase("Never", 0, 0), "Succeeded");
    assert_eq!(phase("Never", 0, 1), "Failed");
    assert_eq!(phase("OnFailure", 0, 0), "Succeeded");
    assert_eq!(phase("OnFailure", 0, 1), "Running");
    assert_eq!(phase("Always", 0, 0), "Running");
    let finished = compute_for(&pod(spec("Never")), &done(0, 0), &Waiting::new());
    assert_eq!(condition_of(&finished, "Ready")["reason"], "PodCompleted");
    assert_eq!(
        finished["containerStatuses"][0]["state"]["terminated"]["reason"],
        "Completed"
    );
    let failed = compute_for(&pod(spec("Never")), &done(0, 2), &Waiting::new());
    assert_eq!(
        failed["containerStatuses"][1]["state"]["terminated"]["reason"],
        "Error"
    );
    assert_eq!(
        failed["containerStatuses"][1]["state"]["terminated"]["exitCode"],
        2
    );
}

#[test]
fn a_crash_looping_container_waits_with_its_last_termination() {
    let pod = pod(json!({"containers": [{"name": "c"}]}));
    let waiting = Waiting::from([(
        "c".to_owned(),
        ("CrashLoopBackOff".to_owned(), "back-off 10s".to_owned()),
    )]);
    let status = compute_for(
        &pod,
        &runtime(vec![
            instance("c", 3, State::Exited, 1),
            instance("c", 2, State::Exited, 1),
        ]),
        &waiting,
    );
    let c = &status["containerStatuses"][0];
    assert_eq!(c["state"]["waiting"]["reason"], "CrashLoopBackOff");
    assert_eq!(c["lastState"]["terminated"]["exitCode"], 1);
    assert_eq!(c["restartCount"], 3);
    // Waiting to restart counts as stopped, not as never started: the pod is Running.
    assert_eq!(status["phase"], "Running");
}

#[test]
fn init_containers_hold_the_pod_until_they_succeed() {
    let pod = pod(json!({
        "initContainers": [{"name": "i1"}, {"name": "i2"}],
        "containers": [{"name": "c"}]
    }));
    let status = compute_for(
        &pod,
        &runtime(vec![
            instance("i1", 0, State::Exited, 0),
            instance("i2", 0, State::Running, 0),
        ]),
        &Waiting::new(),
    );
    assert_eq!(status["phase"], "Pending");
    let initialized = condition_of(&status, "Initialized");
    assert_eq!(initialized["status"], "False");
    assert_eq!(initialized["reason"], "ContainersNotInitialized");
    assert_eq!(
        initialized["message"],
        "containers with incomplete status: [i2]"
    );
    assert_eq!(
        status["containerStatuses"][0]["state"]["waiting"]["reason"],
        "PodInitializing"
    );
}

#[test]
fn qos_classes_follow_requests_and_limits() {
    let spec = |resources: serde_json::Value| -> k8s_openapi::api::core::v1::PodSpec {
        serde_json::from_value(json!({"containers": [{"name": "c", "resources": resources}]}))
            .unwrap()
    };
    assert_eq!(qos_class(&spec(json!({}))), "BestEffort");
    assert_eq!(
        qos_class(&spec(json!({"limits": {"cpu": "1", "memory": "1Gi"}}))),
        "Guaranteed"
    );
    assert_eq!(
        qos_class(&spec(json!({"requests": {"cpu": "1"}}))),
        "Burstable"
    );
}
