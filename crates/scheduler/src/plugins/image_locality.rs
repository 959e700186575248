//! ImageLocality: prefers nodes that already hold the pod's images, so that it starts without
//! pulling — weighing each image by its size and by how widely it is spread (an image on every
//! node says little about any one of them), as upstream scores it: the sum, per container
//! image present, of `size × nodes with it / all nodes`, clamped between 23 MB and 1,000 MB per
//! container and scaled to 0..=100.

use crate::framework::{MAX_NODE_SCORE, Plugin, State};
use crate::info::{NodeInfo, PodInfo};
use std::collections::HashMap;

const MB: i64 = 1024 * 1024;
/// Below this, a node scores 0.
const MIN_THRESHOLD: i64 = 23 * MB;
/// Per container: above this, a node scores the maximum.
const MAX_CONTAINER_THRESHOLD: i64 = 1000 * MB;

/// Upstream's normalization: a name without a tag means `:latest`.
pub fn normalized(image: &str) -> String {
    let tag = image.rfind(':');
    let slash = image.rfind('/');
    if image.contains('@') || tag.is_some_and(|t| slash.is_none_or(|s| t > s)) {
        image.to_owned()
    } else {
        format!("{image}:latest")
    }
}

/// The pod's images and, for each, on how many nodes it is.
#[derive(Debug)]
struct Spread {
    images: Vec<String>,
    nodes_with: HashMap<String, i64>,
    total: i64,
}

/// The plugin.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImageLocality;

fn images(pod: &PodInfo) -> Vec<String> {
    let Some(spec) = pod.pod.spec.as_ref() else {
        return Vec::new();
    };
    spec.init_containers
        .iter()
        .flatten()
        .chain(&spec.containers)
        .filter_map(|c| c.image.as_deref())
        .map(normalized)
        .collect()
}

impl Plugin for ImageLocality {
    fn name(&self) -> &'static str {
        "ImageLocality"
    }

    fn prepare(&self, pod: &PodInfo, nodes: &[&NodeInfo]) -> State {
        let images = images(pod);
        let mut nodes_with: HashMap<String, i64> = HashMap::new();
        // Nodes that report no images (hollow ones) cost nothing to skip.
        for node in nodes.iter().filter(|n| !n.images.is_empty()) {
            for image in &images {
                if node.images.contains_key(image) {
                    *nodes_with.entry(image.clone()).or_default() += 1;
                }
            }
        }
        Some(Box::new(Spread {
            images,
            nodes_with,
            total: nodes.len().max(1) as i64,
        }))
    }

    fn scores(&self) -> bool {
        true
    }

    fn score_with(&self, state: &State, _pod: &PodInfo, node: &NodeInfo) -> i64 {
        let Some(spread) = state.as_ref().and_then(|s| s.downcast_ref::<Spread>()) else {
            return 0;
        };
        if node.images.is_empty() || spread.images.is_empty() {
            return 0;
        }
        let sum: i64 = spread
            .images
            .iter()
            .filter_map(|image| {
                let size = node.images.get(image)?;
                let with = spread.nodes_with.get(image).copied().unwrap_or(0);
                Some(size * with / spread.total)
            })
            .sum();
        let max = MAX_CONTAINER_THRESHOLD * spread.images.len() as i64;
        let clamped = sum.clamp(MIN_THRESHOLD, max);
        MAX_NODE_SCORE * (clamped - MIN_THRESHOLD) / (max - MIN_THRESHOLD)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(name: &str, images: &[(&str, i64)]) -> NodeInfo {
        NodeInfo {
            name: name.into(),
            images: std::sync::Arc::new(
                images.iter().map(|(n, s)| ((*n).to_owned(), *s)).collect(),
            ),
            ..NodeInfo::default()
        }
    }

    fn pod(images: &[&str]) -> PodInfo {
        let containers: Vec<_> = images
            .iter()
            .enumerate()
            .map(|(i, image)| json!({"name": format!("c{i}"), "image": image}))
            .collect();
        PodInfo::new(
            serde_json::from_value(
                json!({"metadata": {"name": "p", "namespace": "d", "uid": "u"},
                "spec": {"containers": containers}}),
            )
            .unwrap(),
        )
    }

    fn scores(pod: &PodInfo, nodes: &[NodeInfo]) -> Vec<i64> {
        let refs: Vec<&NodeInfo> = nodes.iter().collect();
        let state = ImageLocality.prepare(pod, &refs);
        refs.iter()
            .map(|n| ImageLocality.score_with(&state, pod, n))
            .collect()
    }

    #[test]
    fn names_without_a_tag_mean_latest() {
        assert_eq!(normalized("busybox"), "busybox:latest");
        assert_eq!(normalized("busybox:1.36"), "busybox:1.36");
        assert_eq!(
            normalized("localhost:5000/app"),
            "localhost:5000/app:latest"
        );
        assert_eq!(normalized("app@sha256:abc"), "app@sha256:abc");
    }

    #[test]
    fn big_images_weigh_by_their_spread() {
        let big = 800 * MB;
        let nodes = [
            node("has", &[("app:latest", big)]),
            node("lacks", &[("other:1", big)]),
        ];
        let s = scores(&pod(&["app"]), &nodes);
        // 800 MB on one node of two counts as 400 MB: (400 − 23) / (1000 − 23) of the maximum.
        assert_eq!(s, [100 * (400 - 23) / (1000 - 23), 0]);
        // Small images do not count at all.
        let small = [node("has", &[("app:latest", 10 * MB)])];
        assert_eq!(scores(&pod(&["app"]), &small), [0]);
        // On every node, the full size counts.
        let everywhere = [
            node("a", &[("app:latest", big)]),
            node("b", &[("app:latest", big)]),
        ];
        assert_eq!(
            scores(&pod(&["app"]), &everywhere),
            [100 * (800 - 23) / (1000 - 23); 2]
        );
    }
}
