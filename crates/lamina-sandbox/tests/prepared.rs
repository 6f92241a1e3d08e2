//! Privileged tests of pre-started sandboxes ([`Sandbox::prepare`]): built
//! without a function, launched later with one.
//! Each test prints "SKIPPED: ..." and passes when not run as root.

mod common;

use std::io::Read;
use std::path::Path;

use common::{Dirs, JAIL, setup, spec};
use lamina_sandbox::{Sandbox, SandboxError};

/// Waits for the runtime to end; its stdout and the cgroup's memory limit.
#[allow(clippy::unwrap_used)] // test helper: failures should panic
fn finish(mut sb: Sandbox) -> (String, String) {
    let mut out = String::new();
    sb.stdout().unwrap().read_to_string(&mut out).unwrap();
    let status = sb.wait().unwrap();
    assert!(status.success(), "{status:?} {out}");
    let limit = sb
        .cgroup_paths()
        .iter()
        .find_map(|p| {
            ["memory.max", "memory.limit_in_bytes"]
                .iter()
                .find_map(|f| std::fs::read_to_string(p.join(f)).ok())
        })
        .unwrap();
    sb.destroy().unwrap();
    (out, limit.trim().to_owned())
}

#[test]
fn a_prepared_sandbox_runs_the_function_it_is_launched_with() {
    let Some(root) = setup() else { return };
    let dirs = Dirs::new();
    // Prepared with a placeholder function: an empty code dir and a program
    // that would fail.
    let placeholder = dirs.base.path().join("placeholder");
    std::fs::create_dir(&placeholder).unwrap();
    std::fs::write(placeholder.join("placeholder.txt"), "never seen").unwrap();
    let mut generic = spec(&dirs, "prep", "exit 99");
    generic.code_dir = placeholder;
    let prepared = Sandbox::prepare(Path::new(JAIL), &generic, &root).unwrap();

    let mut function = spec(
        &dirs,
        "fn",
        "ls /var/task; cat /var/task/handler.txt; echo \"FOO=$FOO\"; id -u",
    );
    function.env.push(("FOO".into(), "bar".into()));
    function.memory_mb = 512;
    assert!(prepared.fits(&function));
    let sb = prepared.launch(&function).unwrap();
    let (out, limit) = finish(sb);
    assert_eq!(
        out, "handler.txt\nhello from /var/task\nFOO=bar\n1051\n",
        "the launched code, environment and identity"
    );
    assert_eq!(limit, (512u64 << 20).to_string(), "the function's memory");
}

#[test]
fn a_prepared_sandbox_refuses_what_it_was_not_built_for_and_reports_exec_failures() {
    let Some(root) = setup() else { return };
    let dirs = Dirs::new();
    let generic = spec(&dirs, "prep2", "exit 99");
    let prepared = Sandbox::prepare(Path::new(JAIL), &generic, &root).unwrap();
    let mut bigger_tmp = spec(&dirs, "fn2", "true");
    bigger_tmp.tmp_size_mb *= 2;
    assert!(!prepared.fits(&bigger_tmp));
    assert!(matches!(
        prepared.launch(&bigger_tmp),
        Err(SandboxError::InvalidSpec(_))
    ));

    let prepared = Sandbox::prepare(Path::new(JAIL), &generic, &root).unwrap();
    let mut missing = spec(&dirs, "fn3", "");
    missing.argv = vec!["/var/task/bootstrap".into()];
    match prepared.launch(&missing) {
        Err(SandboxError::Exec { program, errno, .. }) => {
            assert_eq!(program, "/var/task/bootstrap");
            assert_eq!(errno, Some(libc::ENOENT));
        }
        other => panic!("expected Exec error, got {other:?}"),
    }
}
