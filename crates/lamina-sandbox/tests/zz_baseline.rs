mod common;
use common::{Dirs, JAIL, setup, spec};
use lamina_sandbox::Sandbox;
use std::path::Path;
use std::time::{Duration, Instant};

#[test]
fn baseline_cold() {
    let Some(root) = setup() else { return };
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let n = 15;
    for net in [
        lamina_sandbox::NetworkMode::LoopbackOnly,
        lamina_sandbox::NetworkMode::Egress,
    ] {
        let (mut fresh, mut reuse) = (Vec::new(), Vec::new());
        let keep = Dirs::new();
        for i in 0..n {
            let dirs = Dirs::new();
            let mut s = spec(&dirs, &format!("b{i}"), "");
            s.argv = vec!["/bin/true".into()];
            s.tmp_size_mb = 512;
            s.network = net;
            let t = Instant::now();
            let mut sb = Sandbox::spawn(Path::new(JAIL), &s, &root).unwrap();
            fresh.push(t.elapsed());
            sb.wait().unwrap();
            sb.destroy().unwrap();
            let mut s = spec(&keep, &format!("k{i}"), "");
            s.argv = vec!["/bin/true".into()];
            s.tmp_size_mb = 512;
            s.network = net;
            let t = Instant::now();
            let mut sb = Sandbox::spawn(Path::new(JAIL), &s, &root).unwrap();
            if i > 0 {
                reuse.push(t.elapsed());
            }
            sb.wait().unwrap();
            sb.destroy().unwrap();
        }
        println!(
            "BASELINE {net:?}: spawn->exec fresh tmp_dir {:?}, reused tmp image {:?}",
            median(fresh),
            median(reuse)
        );
    }
}
