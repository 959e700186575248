use super::*;

fn names(profile: &Profile) -> Vec<(&'static str, i64, bool)> {
    profile
        .plugins
        .iter()
        .map(|w| (w.plugin.name(), w.weight, w.filter))
        .collect()
}

#[test]
fn no_file_is_upstreams_default_profile() {
    let config = SchedulerConfig::default();
    assert_eq!(config.profiles.len(), 1);
    let profile = &config.profiles[0];
    assert_eq!(profile.name, "default-scheduler");
    assert!(names(profile).contains(&("TaintToleration", 3, true)));
    assert_eq!(profile.preemption, Some(PreemptionArgs::default()));
    assert!(config.leader_election.leader_elect);
}

#[test]
fn profiles_enable_disable_and_weigh_plugins() {
    let config = SchedulerConfig::parse(
        r#"
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
percentageOfNodesToScore: 30
leaderElection:
  leaderElect: false
  leaseDuration: 1m30s
profiles:
- schedulerName: default-scheduler
- schedulerName: packer
  percentageOfNodesToScore: 100
  plugins:
    score:
      disabled: [{name: NodeResourcesBalancedAllocation}]
      enabled: [{name: NodeResourcesFit, weight: 5}]
    postFilter:
      disabled: [{name: DefaultPreemption}]
  pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: MostAllocated
- schedulerName: bare
  plugins:
    multiPoint:
      disabled: [{name: "*"}]
      enabled: [{name: NodeResourcesFit}]
"#,
    )
    .unwrap();
    assert!(!config.leader_election.leader_elect);
    assert_eq!(
        config.leader_election.lease_duration,
        Duration::from_secs(90)
    );
    let default = config.profile("default-scheduler").unwrap();
    assert_eq!(default.percentage_of_nodes_to_score, Some(30));
    assert!(default.preemption.is_some());

    let packer = config.profile("packer").unwrap();
    assert_eq!(packer.percentage_of_nodes_to_score, Some(100));
    assert!(packer.preemption.is_none());
    let plugins = names(packer);
    assert!(plugins.contains(&("NodeResourcesFit", 5, true)));
    assert!(plugins.contains(&("NodeResourcesBalancedAllocation", 0, true)));
    // The configured strategy replaced the plugin: bin packing prefers the fuller node.
    let p = crate::info::PodInfo::new(
        serde_json::from_value(
            serde_json::json!({"metadata": {"name": "p", "namespace": "d", "uid": "u"},
            "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "1"}}}]}}),
        )
        .unwrap(),
    );
    let fit = packer
        .plugins
        .iter()
        .find(|w| w.plugin.name() == "NodeResourcesFit")
        .unwrap();
    let allocatable = crate::info::Resources {
        milli_cpu: 4000,
        memory: 4 << 30,
        ephemeral_storage: 0,
        pods: 110,
    };
    let idle = crate::info::NodeInfo {
        allocatable,
        ..Default::default()
    };
    let mut busy = idle.clone();
    busy.add_pod(
        "x",
        crate::info::Resources {
            milli_cpu: 2000,
            memory: 1 << 30,
            ephemeral_storage: 0,
            pods: 1,
        },
        vec![],
    );
    assert!(fit.plugin.score(&p, &busy) > fit.plugin.score(&p, &idle));

    let bare = config.profile("bare").unwrap();
    assert_eq!(names(bare), [("NodeResourcesFit", 1, true)]);
}

#[test]
fn bad_files_are_refused_with_a_reason() {
    for (text, expected) in [
        ("kind: Pod", "is not KubeSchedulerConfiguration"),
        (
            "profiles: [{plugins: {filter: {enabled: [{name: Nope}]}}}]",
            "\"Nope\" enabled at filter is not a plugin",
        ),
        (
            "profiles: [{schedulerName: a}, {schedulerName: a}]",
            "duplicate profile",
        ),
        ("leaderElection: {leaseDuration: 5 fortnights}", "duration"),
        (
            "profiles: [{pluginConfig: [{name: NodeResourcesFit, args: {scoringStrategy: {type: Random}}}]}]",
            "NodeResourcesFit",
        ),
    ] {
        let error = format!("{:#}", SchedulerConfig::parse(text).unwrap_err());
        assert!(error.contains(expected), "{text}: {error}");
    }
    assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
    assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
}

#[test]
fn spread_defaults_are_upstreams_unless_listed() {
    let config = SchedulerConfig::default();
    assert_eq!(config.profiles[0].default_constraints.len(), 2);
    let listed = SchedulerConfig::parse(
        "profiles:\n- pluginConfig:\n  - name: PodTopologySpread\n    args:\n      defaultingType: List\n      defaultConstraints:\n      - {maxSkew: 1, topologyKey: zone, whenUnsatisfiable: DoNotSchedule}\n- schedulerName: none\n  pluginConfig:\n  - {name: PodTopologySpread, args: {defaultingType: List}}\n",
    )
    .unwrap();
    let constraints = &listed.profiles[0].default_constraints;
    assert_eq!(constraints.len(), 1);
    assert_eq!(
        (
            constraints[0].max_skew,
            constraints[0].topology_key.as_str()
        ),
        (1, "zone")
    );
    assert!(
        listed
            .profile("none")
            .unwrap()
            .default_constraints
            .is_empty()
    );
}
