//! What a crashed server leaves behind is cleaned up when it starts again.

use aws_sdk_lambda::primitives::Blob;

use crate::harness::*;

/// The entries of `<data>/envs` but the `/tmp` templates.
fn environment_dirs(data_dir: &std::path::Path) -> Vec<std::ffi::OsString> {
    let mut names: Vec<_> = std::fs::read_dir(data_dir.join("envs"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != lamina_sandbox::TMP_TEMPLATE_DIR)
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_restart_after_a_crash_removes_the_environments_the_crash_left() {
    let temp = tempfile::tempdir().unwrap();
    let data = temp.path().join("data");
    let mut server = TestServer::start_in(&data, &[]);
    let client = server.client();
    create_request(&client, "survivor", python_zip())
        .send()
        .await
        .unwrap();
    wait_settled(&client, "survivor").await;
    let out = client
        .invoke()
        .function_name("survivor")
        .payload(Blob::new("{\"n\": 1}"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.payload().unwrap().as_ref(), b"{\"n\": 1}");
    server.kill();
    let left = environment_dirs(&data);
    assert!(
        !left.is_empty(),
        "the crash left the warm environment's dir"
    );

    let server = TestServer::start_in(&data, &[]);
    let now = environment_dirs(&data);
    assert!(
        left.iter().all(|d| !now.contains(d)),
        "left {left:?}, still there {now:?}"
    );
    // And the function still runs.
    let out = server
        .client()
        .invoke()
        .function_name("survivor")
        .payload(Blob::new("{\"n\": 2}"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.payload().unwrap().as_ref(), b"{\"n\": 2}");
}
