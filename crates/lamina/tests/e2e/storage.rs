//! Persistence across restarts and encryption at rest.

use aws_sdk_lambda::types::Environment;

use crate::harness::*;

/// Every file under `dir`, recursively.
fn all_bytes(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                // The code cache holds unpacked code for execution; it is not the zip.
                if path.file_name().is_some_and(|n| n == "code") {
                    continue;
                }
                stack.push(path);
            } else {
                out.push((path.clone(), std::fs::read(&path).unwrap()));
            }
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn zip_and_environment_are_encrypted_at_rest() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    let mut server = TestServer::start_in(&dir, &[]);
    let client = server.client();
    let marker = "print('a very recognisable function body 8d1f')\n";
    let zip = zip_of(&[("app.py", marker)]);
    let secret = "env-secret-value-5c2e9a";
    create_request(&client, "enc", zip.clone())
        .environment(Environment::builder().variables("TOKEN", secret).build())
        .send()
        .await
        .unwrap();
    wait_settled(&client, "enc").await;
    server.stop();
    let files = all_bytes(&dir);
    assert!(
        files
            .iter()
            .any(|(p, _)| p.to_string_lossy().contains("blobs")),
        "a blob was written"
    );
    for (path, bytes) in &files {
        assert!(
            !contains(bytes, &zip),
            "plaintext zip in {}",
            path.display()
        );
        assert!(
            !contains(bytes, marker.as_bytes()),
            "code in {}",
            path.display()
        );
        assert!(
            !contains(bytes, secret.as_bytes()),
            "environment value in {}",
            path.display()
        );
    }
}

#[tokio::test]
async fn functions_and_code_survive_a_restart() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    let zip = python_zip();
    let before = {
        let mut server = TestServer::start_in(&dir, &[]);
        let client = server.client();
        create_request(&client, "keep", zip.clone())
            .environment(Environment::builder().variables("KEY", "value").build())
            .send()
            .await
            .unwrap();
        let c = wait_settled(&client, "keep").await;
        server.stop();
        c
    };
    let server = TestServer::start_in(&dir, &[]);
    let client = server.client();
    let got = client
        .get_function()
        .function_name("keep")
        .send()
        .await
        .unwrap();
    let c = got.configuration().unwrap();
    assert_eq!(c.code_sha256(), before.code_sha256());
    assert_eq!(c.revision_id(), before.revision_id());
    assert_eq!(
        c.environment()
            .unwrap()
            .variables()
            .unwrap()
            .get("KEY")
            .map(String::as_str),
        Some("value")
    );
    let (status, _, body) = raw_request("GET", got.code().unwrap().location().unwrap(), &[], b"");
    assert_eq!(status, 200);
    assert_eq!(body, zip);
}
