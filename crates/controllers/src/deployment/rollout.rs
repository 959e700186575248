//! The arithmetic of rollouts, as upstream's deployment utilities: how far `maxSurge` and
//! `maxUnavailable` allow a rolling update to go, how many pods the new ReplicaSet may have,
//! which old ReplicaSets lose how many, and how a scaled Deployment shares new replicas among
//! the sets it has (proportional scaling).

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// A ReplicaSet as the rollout arithmetic sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// `spec.replicas`.
    pub replicas: i32,
    /// `status.availableReplicas`.
    pub available: i32,
}

/// An int-or-percent of `total`, rounded up or down (upstream's
/// `GetScaledValueFromIntOrPercent`). A malformed percent counts as 0.
pub fn scaled(value: Option<&IntOrString>, total: i32, round_up: bool) -> i32 {
    match value {
        None => 0,
        Some(IntOrString::Int(n)) => *n,
        Some(IntOrString::String(text)) => {
            let Some(percent) = text.strip_suffix('%').and_then(|p| p.parse::<i64>().ok()) else {
                return 0;
            };
            let product = percent * i64::from(total);
            let value = if round_up {
                (product + 99).div_euclid(100)
            } else {
                product.div_euclid(100)
            };
            i32::try_from(value).unwrap_or(0)
        }
    }
}

/// `(maxSurge, maxUnavailable)` as pod counts; both zero would stall, so unavailable becomes 1
/// (upstream's `ResolveFenceposts`).
pub fn fenceposts(
    surge: Option<&IntOrString>,
    unavailable: Option<&IntOrString>,
    replicas: i32,
) -> (i32, i32) {
    let surge = scaled(surge, replicas, true);
    let unavailable = scaled(unavailable, replicas, false);
    if surge == 0 && unavailable == 0 {
        (0, 1)
    } else {
        (surge, unavailable)
    }
}

/// How many replicas the new ReplicaSet should have now during a rolling update (upstream's
/// `NewRSNewReplicas`): up to `replicas + maxSurge` pods in all, never past `replicas`.
pub fn new_rs_replicas(replicas: i32, max_surge: i32, all: i32, new: i32) -> i32 {
    let ceiling = replicas + max_surge;
    if all >= ceiling {
        return new;
    }
    let up = (ceiling - all).min(replicas - new);
    new + up.max(0)
}

/// How many pods old ReplicaSets may lose now (upstream's `maxScaledDown` in
/// `reconcileOldReplicaSets`): what stays above `replicas - maxUnavailable`, counting the new
/// set's unavailable pods as already missing.
pub fn old_scale_down_room(replicas: i32, max_unavailable: i32, all: i32, new: Counts) -> i32 {
    let min_available = replicas - max_unavailable;
    let new_unavailable = new.replicas - new.available;
    all - min_available - new_unavailable
}

/// Scales down old sets, oldest first: first their unavailable pods (up to `room`, upstream's
/// `cleanupUnhealthyReplicas`), then — keeping `min_available` available pods across all
/// sets — available ones (`scaleDownOldReplicaSetsForRollingUpdate`). Returns each old set's new replica count (same order).
pub fn scale_down_old(
    old: &[Counts],
    room: i32,
    min_available: i32,
    new_available: i32,
) -> Vec<i32> {
    let mut result: Vec<i32> = old.iter().map(|c| c.replicas).collect();
    let mut cleaned = 0;
    for (set, target) in old.iter().zip(result.iter_mut()) {
        if cleaned >= room {
            break;
        }
        let unhealthy = (set.replicas - set.available).max(0);
        let down = unhealthy.min(room - cleaned);
        *target -= down;
        cleaned += down;
    }
    let available: i32 = new_available + old.iter().map(|c| c.available).sum::<i32>();
    if available <= min_available {
        return result;
    }
    let mut left = available - min_available;
    for target in &mut result {
        if left <= 0 {
            break;
        }
        let down = (*target).min(left);
        *target -= down;
        left -= down;
    }
    result
}

/// Shares `to_add` (negative: to remove) among sets with replicas, in proportion to their size,
/// the rounding left-over going to the first set (the newest, as upstream sorts them for
/// proportional scaling). Returns each set's new replica count (same order).
pub fn proportional(sets: &[i32], to_add: i32) -> Vec<i32> {
    let total: i64 = sets.iter().map(|r| i64::from(*r)).sum();
    if total == 0 || to_add == 0 {
        return sets.to_vec();
    }
    let mut result = sets.to_vec();
    let mut given = 0i64;
    for (set, target) in sets.iter().zip(result.iter_mut()) {
        let share = i64::from(to_add) * i64::from(*set) / total;
        // Never take a set below zero.
        let share = share.max(-i64::from(*set));
        *target = i32::try_from(i64::from(*set) + share).unwrap_or(*set);
        given += share;
    }
    let rest = i64::from(to_add) - given;
    if let Some(first) = result.first_mut() {
        *first = i32::try_from((i64::from(*first) + rest).max(0)).unwrap_or(*first);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn percent(p: &str) -> IntOrString {
        IntOrString::String(p.to_owned())
    }

    #[test]
    fn fenceposts_round_surge_up_and_unavailable_down() {
        assert_eq!(
            fenceposts(Some(&percent("25%")), Some(&percent("25%")), 10),
            (3, 2)
        );
        assert_eq!(
            fenceposts(Some(&IntOrString::Int(0)), Some(&IntOrString::Int(0)), 3),
            (0, 1)
        );
        assert_eq!(
            fenceposts(Some(&IntOrString::Int(1)), Some(&IntOrString::Int(0)), 3),
            (1, 0)
        );
        assert_eq!(scaled(Some(&percent("x%")), 10, true), 0);
    }

    #[test]
    fn the_new_set_grows_within_the_surge() {
        // 3 wanted, surge 1: with 3 old pods the new set may start one.
        assert_eq!(new_rs_replicas(3, 1, 3, 0), 1);
        // Already at the ceiling: no growth.
        assert_eq!(new_rs_replicas(3, 1, 4, 1), 1);
        // Never past the wanted count.
        assert_eq!(new_rs_replicas(3, 5, 3, 2), 3);
    }

    #[test]
    fn old_sets_shrink_only_as_far_as_availability_allows() {
        // 3 wanted, 0 unavailable allowed, 4 pods (3 old available, 1 new not yet available).
        let new = Counts {
            replicas: 1,
            available: 0,
        };
        assert_eq!(old_scale_down_room(3, 0, 4, new), 0);
        // The new pod became available: one old pod may go.
        let new = Counts {
            replicas: 1,
            available: 1,
        };
        let room = old_scale_down_room(3, 0, 4, new);
        assert_eq!(room, 1);
        assert_eq!(
            scale_down_old(
                &[Counts {
                    replicas: 3,
                    available: 3
                }],
                room,
                3,
                1
            ),
            [2]
        );
        // Unavailable old pods go first, oldest set first.
        let old = [
            Counts {
                replicas: 2,
                available: 0,
            },
            Counts {
                replicas: 2,
                available: 2,
            },
        ];
        assert_eq!(
            scale_down_old(&old, 3, 2, 0),
            [0, 2],
            "two must stay available"
        );
        assert_eq!(scale_down_old(&old, 3, 1, 0), [0, 1]);
    }

    #[test]
    fn scaling_is_shared_in_proportion() {
        assert_eq!(proportional(&[6, 4], 5), [9, 6]);
        assert_eq!(proportional(&[1, 1, 1], 1), [2, 1, 1]);
        assert_eq!(proportional(&[6, 4], -5), [3, 2]);
        assert_eq!(proportional(&[0, 0], 3), [0, 0]);
    }
}
