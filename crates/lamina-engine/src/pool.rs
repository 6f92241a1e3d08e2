//! The scheduler's bookkeeping: warm pools per snapshot key, concurrency (account-wide,
//! unreserved and per-function reserved), the host memory budget, and provisioned
//! environments. Pure state, no I/O, so every decision is unit-tested.

use std::collections::HashMap;
use std::time::Instant;

/// What the pools need to know about an environment.
pub(crate) trait Pooled {
    fn key(&self) -> &str;
    fn memory_mb(&self) -> u64;
    /// The provisioned-concurrency target this environment was started for, if any.
    fn provisioned_for(&self) -> Option<&str>;
    fn clear_provisioned(&mut self);
}

pub(crate) struct Idle<E> {
    pub env: E,
    pub since: Instant,
}

/// Account limits the pools enforce.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub concurrency: u32,
    pub memory_budget_mb: u64,
}

/// The concurrency one running invocation holds.
#[derive(Debug)]
pub(crate) struct Slot {
    function: String,
    reserved: bool,
}

/// A provisioned-concurrency target: how many environments were asked for and exist.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Provision {
    pub requested: u32,
    pub allocated: u32,
}

/// How an invocation gets its environment.
pub(crate) enum Acquired<E> {
    Warm(E),
    /// Start a new one (its memory is already counted); these idle ones were evicted for it.
    Cold {
        evicted: Vec<E>,
    },
}

/// Why an invocation cannot run now (AWS's `Reason`), with any environments evicted on the way.
pub(crate) struct Throttle<E> {
    pub reason: &'static str,
    pub evicted: Vec<E>,
}

pub(crate) struct Pools<E> {
    idle: HashMap<String, Vec<Idle<E>>>,
    in_flight: u32,
    unreserved_in_flight: u32,
    per_function: HashMap<String, u32>,
    reserved_total: u32,
    live_memory_mb: u64,
    live_envs: u32,
    provisions: HashMap<String, Provision>,
    /// Environments per key that answered their invocation and are finishing it.
    finishing: HashMap<String, u32>,
}

impl<E> Default for Pools<E> {
    fn default() -> Self {
        Self {
            idle: HashMap::new(),
            in_flight: 0,
            unreserved_in_flight: 0,
            per_function: HashMap::new(),
            reserved_total: 0,
            live_memory_mb: 0,
            live_envs: 0,
            provisions: HashMap::new(),
            finishing: HashMap::new(),
        }
    }
}

impl<E: Pooled> Pools<E> {
    pub fn in_flight(&self) -> u32 {
        self.in_flight
    }
    pub fn live_envs(&self) -> u32 {
        self.live_envs
    }
    pub fn idle_envs(&self) -> u32 {
        self.idle.values().map(|v| v.len() as u32).sum()
    }

    /// Counts environments of `key` finishing an invocation (`delta` +1 or -1).
    pub fn finishing(&mut self, key: &str, delta: i32) {
        let n = self.finishing.entry(key.to_owned()).or_default();
        *n = n.saturating_add_signed(delta);
        if *n == 0 {
            self.finishing.remove(key);
        }
    }

    pub fn any_finishing(&self) -> bool {
        !self.finishing.is_empty()
    }

    /// Whether an invocation of `key` should wait for a finishing environment: none is idle,
    /// and one will be soon.
    pub fn should_wait(&self, key: &str) -> bool {
        self.finishing.get(key).is_some_and(|n| *n > 0)
            && self.idle.get(key).is_none_or(Vec::is_empty)
    }

    /// The sum of all functions' reserved concurrency (it leaves the unreserved pool).
    pub fn set_reserved_total(&mut self, total: u32) {
        self.reserved_total = total;
    }

    /// Takes a concurrency slot, then a warm environment of `key` (provisioned ones first) or
    /// room for a cold start (evicting the longest-idle environments of other keys).
    pub fn acquire(
        &mut self,
        limits: Limits,
        key: &str,
        function: &str,
        memory_mb: u64,
        reserved: Option<u32>,
    ) -> Result<(Slot, Acquired<E>), Throttle<E>> {
        let running = self.per_function.get(function).copied().unwrap_or(0);
        match reserved {
            Some(r) if running >= r => {
                return Err(Throttle {
                    reason: "ReservedFunctionConcurrentInvocationLimitExceeded",
                    evicted: Vec::new(),
                });
            }
            None if self.unreserved_in_flight
                >= limits.concurrency.saturating_sub(self.reserved_total) =>
            {
                return Err(Throttle {
                    reason: "ConcurrentInvocationLimitExceeded",
                    evicted: Vec::new(),
                });
            }
            _ => {}
        }
        let warm = self.idle.get_mut(key).and_then(|list| {
            let pos = list
                .iter()
                .rposition(|i| i.env.provisioned_for().is_some())
                .or_else(|| list.len().checked_sub(1))?;
            Some(list.remove(pos).env)
        });
        self.idle.retain(|_, v| !v.is_empty());
        let acquired = match warm {
            Some(env) => Acquired::Warm(env),
            None => match self.make_room(limits, memory_mb) {
                Ok(evicted) => Acquired::Cold { evicted },
                Err(evicted) => {
                    return Err(Throttle {
                        reason: "ConcurrentInvocationLimitExceeded",
                        evicted,
                    });
                }
            },
        };
        self.in_flight += 1;
        if reserved.is_none() {
            self.unreserved_in_flight += 1;
        }
        *self.per_function.entry(function.to_owned()).or_default() += 1;
        Ok((
            Slot {
                function: function.to_owned(),
                reserved: reserved.is_some(),
            },
            acquired,
        ))
    }

    /// Counts a new environment of `memory_mb` against the budget, evicting the longest-idle
    /// unprovisioned environments first. On failure nothing is counted, but evictions stand.
    pub fn make_room(&mut self, limits: Limits, memory_mb: u64) -> Result<Vec<E>, Vec<E>> {
        let mut evicted = Vec::new();
        while self.live_memory_mb + memory_mb > limits.memory_budget_mb {
            let oldest = self
                .idle
                .iter()
                .flat_map(|(k, v)| {
                    v.iter()
                        .enumerate()
                        .filter(|(_, i)| i.env.provisioned_for().is_none())
                        .map(move |(n, i)| (k.clone(), n, i.since))
                })
                .min_by_key(|(_, _, since)| *since);
            let Some((key, n, _)) = oldest else {
                return Err(evicted);
            };
            if let Some(list) = self.idle.get_mut(&key) {
                let idle = list.remove(n);
                self.live_memory_mb = self.live_memory_mb.saturating_sub(idle.env.memory_mb());
                self.live_envs = self.live_envs.saturating_sub(1);
                evicted.push(idle.env);
            }
            self.idle.retain(|_, v| !v.is_empty());
        }
        self.live_memory_mb += memory_mb;
        self.live_envs += 1;
        Ok(evicted)
    }

    /// Gives back an invocation's concurrency.
    pub fn release_slot(&mut self, slot: Slot) {
        self.in_flight = self.in_flight.saturating_sub(1);
        if !slot.reserved {
            self.unreserved_in_flight = self.unreserved_in_flight.saturating_sub(1);
        }
        if let Some(n) = self.per_function.get_mut(&slot.function) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_function.remove(&slot.function);
            }
        }
    }

    /// Forgets an environment that is gone (or never started).
    pub fn env_gone(&mut self, memory_mb: u64) {
        self.live_memory_mb = self.live_memory_mb.saturating_sub(memory_mb);
        self.live_envs = self.live_envs.saturating_sub(1);
    }

    /// Puts a healthy environment back in its warm pool.
    pub fn put_idle(&mut self, mut env: E, now: Instant) {
        if let Some(target) = env.provisioned_for()
            && !self.provisions.contains_key(target)
        {
            env.clear_provisioned();
        }
        self.idle
            .entry(env.key().to_owned())
            .or_default()
            .push(Idle { env, since: now });
    }

    /// Removes the idle environments `pick` chooses and forgets them.
    pub fn take_idle(&mut self, pick: impl Fn(&Idle<E>) -> bool) -> Vec<E> {
        let mut taken = Vec::new();
        for list in self.idle.values_mut() {
            let (gone, keep): (Vec<_>, Vec<_>) = list.drain(..).partition(|i| pick(i));
            *list = keep;
            taken.extend(gone.into_iter().map(|i| i.env));
        }
        self.idle.retain(|_, v| !v.is_empty());
        for env in &taken {
            self.env_gone(env.memory_mb());
        }
        taken
    }

    pub fn provision(&self, target: &str) -> Option<Provision> {
        self.provisions.get(target).copied()
    }

    pub fn set_provision(&mut self, target: &str, requested: u32) {
        self.provisions
            .entry(target.to_owned())
            .or_default()
            .requested = requested;
    }

    pub fn provisioned_one(&mut self, target: &str) {
        if let Some(p) = self.provisions.get_mut(target) {
            p.allocated += 1;
        }
    }

    /// One of `target`'s environments is gone (destroyed after a failure).
    pub fn provisioned_lost(&mut self, target: &str) {
        if let Some(p) = self.provisions.get_mut(target) {
            p.allocated = p.allocated.saturating_sub(1);
        }
    }

    /// Each target with its counts and how many of its environments are idle.
    pub fn provisioned_usage(&self) -> Vec<(String, Provision, u32)> {
        let mut out: Vec<_> = self
            .provisions
            .iter()
            .map(|(target, p)| {
                let idle = self
                    .idle
                    .values()
                    .flatten()
                    .filter(|i| i.env.provisioned_for() == Some(target.as_str()))
                    .count();
                (target.clone(), *p, u32::try_from(idle).unwrap_or(u32::MAX))
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Stops a target: its idle environments are returned for destruction; busy ones become
    /// ordinary environments when they come back.
    pub fn remove_provision(&mut self, target: &str) -> Vec<E> {
        self.provisions.remove(target);
        self.take_idle(|i| i.env.provisioned_for() == Some(target))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[derive(Debug)]
    struct Fake {
        key: String,
        memory: u64,
        provisioned: Option<String>,
    }

    impl Pooled for Fake {
        fn key(&self) -> &str {
            &self.key
        }
        fn memory_mb(&self) -> u64 {
            self.memory
        }
        fn provisioned_for(&self) -> Option<&str> {
            self.provisioned.as_deref()
        }
        fn clear_provisioned(&mut self) {
            self.provisioned = None;
        }
    }

    fn env(key: &str, provisioned: Option<&str>) -> Fake {
        Fake {
            key: key.into(),
            memory: 128,
            provisioned: provisioned.map(Into::into),
        }
    }

    const LIMITS: Limits = Limits {
        concurrency: 10,
        memory_budget_mb: 1024,
    };

    fn reason<T>(r: Result<T, Throttle<Fake>>) -> &'static str {
        match r {
            Err(t) => t.reason,
            Ok(_) => "ok",
        }
    }

    #[test]
    fn warm_environments_are_reused_and_provisioned_ones_first() {
        let mut p: Pools<Fake> = Pools::default();
        let now = Instant::now();
        p.make_room(LIMITS, 128).ok();
        p.make_room(LIMITS, 128).ok();
        p.set_provision("f:1", 1);
        p.put_idle(env("f:1:k", Some("f:1")), now);
        p.put_idle(env("f:1:k", None), now + Duration::from_secs(1));
        let (_, got) = p.acquire(LIMITS, "f:1:k", "f", 128, None).ok().unwrap();
        assert!(matches!(got, Acquired::Warm(e) if e.provisioned.is_some()));
        let (_, got) = p.acquire(LIMITS, "other", "g", 128, None).ok().unwrap();
        assert!(matches!(got, Acquired::Cold { evicted } if evicted.is_empty()));
        assert_eq!(p.live_envs(), 3);
        assert_eq!(p.in_flight(), 2);
    }

    #[test]
    fn reserved_concurrency_caps_a_function_and_leaves_the_unreserved_pool() {
        let mut p: Pools<Fake> = Pools::default();
        let (slot, _) = p.acquire(LIMITS, "f:k", "f", 128, Some(1)).ok().unwrap();
        assert_eq!(
            reason(p.acquire(LIMITS, "f:k", "f", 128, Some(1))),
            "ReservedFunctionConcurrentInvocationLimitExceeded"
        );
        assert_eq!(
            reason(p.acquire(LIMITS, "z:k", "z", 128, Some(0))),
            "ReservedFunctionConcurrentInvocationLimitExceeded",
            "reserved 0 throttles every invoke"
        );
        p.release_slot(slot);
        assert_eq!(reason(p.acquire(LIMITS, "f:k", "f", 128, Some(1))), "ok");

        let mut p: Pools<Fake> = Pools::default();
        p.set_reserved_total(8);
        let mut slots = Vec::new();
        for i in 0..2 {
            let (s, _) = p
                .acquire(LIMITS, &format!("u{i}:k"), &format!("u{i}"), 64, None)
                .ok()
                .unwrap();
            slots.push(s);
        }
        assert_eq!(
            reason(p.acquire(LIMITS, "u9:k", "u9", 64, None)),
            "ConcurrentInvocationLimitExceeded"
        );
    }

    #[test]
    fn the_memory_budget_evicts_the_longest_idle_but_never_provisioned_ones() {
        let limits = Limits {
            concurrency: 10,
            memory_budget_mb: 256,
        };
        let mut p: Pools<Fake> = Pools::default();
        let now = Instant::now();
        p.make_room(limits, 128).ok();
        p.make_room(limits, 128).ok();
        p.set_provision("a:1", 1);
        p.put_idle(env("a:1:k", Some("a:1")), now);
        p.put_idle(env("b:k", None), now + Duration::from_secs(1));
        let (_, got) = p.acquire(limits, "c:k", "c", 128, None).ok().unwrap();
        match got {
            Acquired::Cold { evicted } => {
                assert_eq!(evicted.len(), 1);
                assert_eq!(evicted[0].key, "b:k");
            }
            Acquired::Warm(_) => panic!("expected a cold start"),
        }
        let t = p.acquire(limits, "d:k", "d", 128, None);
        assert_eq!(reason(t), "ConcurrentInvocationLimitExceeded");
    }

    #[test]
    fn removing_a_provision_frees_its_idle_environments() {
        let mut p: Pools<Fake> = Pools::default();
        p.make_room(LIMITS, 128).ok();
        p.set_provision("f:1", 1);
        p.provisioned_one("f:1");
        assert_eq!(
            p.provision("f:1"),
            Some(Provision {
                requested: 1,
                allocated: 1
            })
        );
        p.put_idle(env("f:1:k", Some("f:1")), Instant::now());
        let gone = p.remove_provision("f:1");
        assert_eq!(gone.len(), 1);
        assert_eq!(p.live_envs(), 0);
        assert_eq!(p.provision("f:1"), None);
    }

    #[test]
    fn provisioned_usage_counts_idle_environments_per_target() {
        let mut p: Pools<Fake> = Pools::default();
        p.set_provision("f:1", 2);
        for _ in 0..2 {
            p.make_room(LIMITS, 128).ok();
            p.provisioned_one("f:1");
            p.put_idle(env("f:1:k", Some("f:1")), Instant::now());
        }
        p.put_idle(env("f:1:k", None), Instant::now());
        let (_, got) = p.acquire(LIMITS, "f:1:k", "f", 128, None).ok().unwrap();
        assert!(matches!(got, Acquired::Warm(e) if e.provisioned.is_some()));
        let usage = p.provisioned_usage();
        assert_eq!(usage.len(), 1);
        let (target, prov, idle) = &usage[0];
        assert_eq!(target, "f:1");
        assert_eq!(prov.allocated, 2);
        assert_eq!(*idle, 1, "one provisioned environment is busy");
    }
}
