//! A stand-in for `lamina __jail`, used by this crate's integration tests.
//!
//! `lamina-jail-test __server <cgroup name> <spec JSON>` plays a server
//! instead (for the tests that SIGKILL one): it detects the cgroup root,
//! spawns one sandbox with itself as the jail, prints
//! `jail=<pid> group=<server group dirs, ':'-separated> env=<env group dirs>`
//! and sleeps until killed.

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("__server") {
        server(&args[2..]);
    }
    lamina_sandbox::jail_main()
}

fn server(args: &[String]) -> ! {
    let fail = |what: &str, e: &dyn std::fmt::Display| -> ! {
        eprintln!("lamina-jail-test __server: {what}: {e}");
        std::process::exit(2)
    };
    let [name, spec] = args else {
        fail("usage", &"__server <cgroup name> <spec JSON>")
    };
    let spec: lamina_sandbox::SandboxSpec =
        serde_json::from_str(spec).unwrap_or_else(|e| fail("spec", &e));
    let root = lamina_sandbox::CgroupRoot::detect(name).unwrap_or_else(|e| fail("detect", &e));
    let exe = std::env::current_exe().unwrap_or_else(|e| fail("current_exe", &e));
    let sandbox =
        lamina_sandbox::Sandbox::spawn(&exe, &spec, &root).unwrap_or_else(|e| fail("spawn", &e));
    let join = |v: Vec<std::path::PathBuf>| {
        v.iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(":")
    };
    println!(
        "jail={} group={} env={}",
        sandbox.pid(),
        join(root.server_dirs()),
        join(sandbox.cgroup_paths())
    );
    // Keep the sandbox (and its clean-up) alive until SIGKILL.
    let _keep = sandbox;
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}
