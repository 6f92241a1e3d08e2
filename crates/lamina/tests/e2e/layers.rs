//! Layers through the SDK: every layer operation and its errors, functions referencing layers,
//! and what Invoke sees under `/opt`.

use aws_sdk_lambda::Client;
use aws_sdk_lambda::operation::publish_layer_version::PublishLayerVersionOutput;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Architecture, LayerVersionContentInput, Runtime};
use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::harness::*;

pub(crate) const REGION_ACCOUNT: &str = "arn:aws:lambda:us-east-1:000000000000";

fn content(zip: Vec<u8>) -> LayerVersionContentInput {
    LayerVersionContentInput::builder()
        .zip_file(Blob::new(zip))
        .build()
}

pub(crate) async fn publish(
    client: &Client,
    name: &str,
    files: &[(&str, &str)],
) -> PublishLayerVersionOutput {
    client
        .publish_layer_version()
        .layer_name(name)
        .content(content(zip_of(files)))
        .send()
        .await
        .unwrap()
}

/// A layer with `python/shared.py` setting `VALUE`, plus extra files.
async fn python_layer(client: &Client, name: &str, value: &str, extra: &[(&str, &str)]) -> String {
    let shared = format!("VALUE = {value:?}\n");
    let mut files = vec![("python/shared.py", shared.as_str())];
    files.extend_from_slice(extra);
    publish(client, name, &files)
        .await
        .layer_version_arn()
        .unwrap()
        .to_owned()
}

const LAYER_USER: &str = r#"
import errno
import os

import shared


def handler(event, context):
    try:
        open("/opt/python/new.txt", "w")
        writable = True
    except OSError as e:
        writable = errno.errorcode.get(e.errno, str(e.errno))
    try:
        import only_a
        only_a_value = only_a.A
    except ImportError:
        only_a_value = None
    return {"value": shared.VALUE, "only_a": only_a_value, "opt_writable": writable,
            "python": sorted(os.listdir("/opt/python"))}
"#;

async fn invoke_json(client: &Client, name: &str, payload: Value) -> Value {
    let out = client
        .invoke()
        .function_name(name)
        .payload(Blob::new(payload.to_string()))
        .send()
        .await
        .unwrap();
    let body: Value = serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap();
    assert_eq!(out.function_error(), None, "{body}");
    body
}

async fn set_layers(client: &Client, name: &str, layers: &[&str]) {
    client
        .update_function_configuration()
        .function_name(name)
        .set_layers(Some(layers.iter().map(|l| (*l).to_owned()).collect()))
        .send()
        .await
        .unwrap();
    wait_settled(client, name).await;
}

fn sha256_b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(data))
}

#[tokio::test]
async fn layer_versions_are_published_read_listed_and_deleted_like_aws() {
    let server = TestServer::start().await;
    let client = server.client();
    let zip = zip_of(&[("python/util.py", "X = 1\n")]);
    let v1 = client
        .publish_layer_version()
        .layer_name("util")
        .description("first")
        .license_info("MIT")
        .compatible_runtimes(Runtime::Python312)
        .compatible_runtimes(Runtime::Python313)
        .compatible_architectures(Architecture::X8664)
        .content(content(zip.clone()))
        .send()
        .await
        .unwrap();
    let layer_arn = format!("{REGION_ACCOUNT}:layer:util");
    assert_eq!(v1.version(), 1);
    assert_eq!(v1.layer_arn(), Some(layer_arn.as_str()));
    assert_eq!(
        v1.layer_version_arn(),
        Some(format!("{layer_arn}:1").as_str())
    );
    assert_eq!(v1.description(), Some("first"));
    assert_eq!(v1.license_info(), Some("MIT"));
    assert_eq!(
        v1.compatible_runtimes(),
        [Runtime::Python312, Runtime::Python313]
    );
    assert_eq!(v1.compatible_architectures(), [Architecture::X8664]);
    assert!(v1.created_date().unwrap().ends_with("+0000"));
    let c = v1.content().unwrap();
    assert_eq!(c.code_sha256(), Some(sha256_b64(&zip).as_str()));
    assert_eq!(c.code_size(), zip.len() as i64);
    let (status, _, body) = raw_request("GET", c.location().unwrap(), &[], b"");
    assert_eq!(status, 200);
    assert_eq!(body, zip, "Content.Location downloads the layer's zip");

    // Nothing has to change for a new version; the number goes up.
    let v2 = publish(&client, "util", &[("python/util.py", "X = 2\n")]).await;
    assert_eq!(v2.version(), 2);
    assert!(v2.compatible_runtimes().is_empty());
    assert_eq!(v2.description(), Some(""));
    assert_eq!(v2.license_info(), None);
    publish(&client, "other", &[("bin/tool", "#!/bin/sh\n")]).await;

    // GetLayerVersion by name and by layer ARN, GetLayerVersionByArn.
    for name in ["util", layer_arn.as_str()] {
        let got = client
            .get_layer_version()
            .layer_name(name)
            .version_number(1)
            .send()
            .await
            .unwrap();
        assert_eq!(got.version(), 1);
        assert_eq!(got.description(), Some("first"));
        assert_eq!(got.content().unwrap().code_sha256(), c.code_sha256());
    }
    let by_arn = client
        .get_layer_version_by_arn()
        .arn(format!("{layer_arn}:2"))
        .send()
        .await
        .unwrap();
    assert_eq!(by_arn.version(), 2);
    assert_eq!(by_arn.layer_arn(), Some(layer_arn.as_str()));

    // ListLayerVersions: newest first, paginated, filtered.
    let all = client
        .list_layer_versions()
        .layer_name("util")
        .send()
        .await
        .unwrap();
    let numbers: Vec<i64> = all.layer_versions().iter().map(|v| v.version()).collect();
    assert_eq!(numbers, [2, 1]);
    assert_eq!(all.next_marker(), None);
    let first = client
        .list_layer_versions()
        .layer_name("util")
        .max_items(1)
        .send()
        .await
        .unwrap();
    assert_eq!(first.layer_versions()[0].version(), 2);
    let rest = client
        .list_layer_versions()
        .layer_name("util")
        .marker(first.next_marker().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.layer_versions()[0].version(), 1);
    assert_eq!(rest.layer_versions()[0].license_info(), Some("MIT"));
    let filtered = client
        .list_layer_versions()
        .layer_name("util")
        .compatible_runtime(Runtime::Python313)
        .send()
        .await
        .unwrap();
    assert_eq!(filtered.layer_versions().len(), 1);
    let none = client
        .list_layer_versions()
        .layer_name("layerdoesnotexist")
        .send()
        .await
        .unwrap();
    assert!(none.layer_versions().is_empty());

    // ListLayers: the latest version of each layer, or the latest matching the filters.
    let layers = client.list_layers().send().await.unwrap();
    let latest: Vec<(&str, i64)> = layers
        .layers()
        .iter()
        .map(|l| {
            (
                l.layer_name().unwrap(),
                l.latest_matching_version().unwrap().version(),
            )
        })
        .collect();
    assert_eq!(latest, [("other", 1), ("util", 2)]);
    let page = client.list_layers().max_items(1).send().await.unwrap();
    assert_eq!(page.layers().len(), 1);
    let page2 = client
        .list_layers()
        .marker(page.next_marker().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(page2.layers()[0].layer_name(), Some("util"));
    let matching = client
        .list_layers()
        .compatible_runtime(Runtime::Python312)
        .compatible_architecture(Architecture::X8664)
        .send()
        .await
        .unwrap();
    assert_eq!(matching.layers().len(), 1);
    let m = &matching.layers()[0];
    assert_eq!(m.layer_arn(), Some(layer_arn.as_str()));
    assert_eq!(m.latest_matching_version().unwrap().version(), 1);

    // DeleteLayerVersion: 204 for anything; numbers are never reused.
    client
        .delete_layer_version()
        .layer_name("util")
        .version_number(2)
        .send()
        .await
        .unwrap();
    for (layer, version) in [("util", 2), ("util", 9), ("layerdoesnotexist", 1)] {
        client
            .delete_layer_version()
            .layer_name(layer)
            .version_number(version)
            .send()
            .await
            .unwrap();
    }
    let err = client
        .get_layer_version()
        .layer_name("util")
        .version_number(2)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "ResourceNotFoundException");
    assert_eq!(
        message_of(&err),
        "The resource you requested does not exist."
    );
    let v3 = publish(&client, "util", &[("python/util.py", "X = 3\n")]).await;
    assert_eq!(v3.version(), 3);
}

#[tokio::test]
async fn layer_operations_refuse_bad_input_with_aws_messages() {
    let server = TestServer::start().await;
    let client = server.client();
    let v1 = publish(&client, "errs", &[("a.txt", "a")]).await;
    let layer_arn = v1.layer_arn().unwrap().to_owned();

    for n in [0, -1] {
        let err = client
            .get_layer_version()
            .layer_name("errs")
            .version_number(n)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code_of(&err), "InvalidParameterValueException");
        assert_eq!(message_of(&err), "Layer Version Cannot be less than 1");
    }
    let err = client
        .delete_layer_version()
        .layer_name("errs")
        .version_number(-1)
        .send()
        .await
        .unwrap_err();
    assert_eq!(message_of(&err), "Layer Version Cannot be less than 1");
    for name in ["layerdoesnotexist", "errs"] {
        let err = client
            .get_layer_version()
            .layer_name(name)
            .version_number(2)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code_of(&err), "ResourceNotFoundException");
        assert_eq!(
            message_of(&err),
            "The resource you requested does not exist."
        );
    }
    let err = client
        .get_layer_version_by_arn()
        .arn(&layer_arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "ValidationException");
    assert_eq!(
        message_of(&err),
        format!(
            r"1 validation error detected: Value '{layer_arn}' at 'arn' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:lambda:[a-z]{{2}}((-gov)|(-iso(b?)))?-[a-z]+-\d{{1}}:\d{{12}}:layer:[a-zA-Z0-9-_]+:[0-9]+"
        )
    );
    let err = client
        .get_layer_version_by_arn()
        .arn(format!("{layer_arn}:2"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "ResourceNotFoundException");

    let err = client
        .list_layers()
        .compatible_runtime(Runtime::from("runtimedoesnotexist"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "ValidationException");
    assert!(message_of(&err).starts_with(
        "1 validation error detected: Value 'runtimedoesnotexist' at 'compatibleRuntime' failed to satisfy constraint: Member must satisfy enum value set: [ruby3.5, ruby2.6, dotnetcore1.0,"
    ));
    let err = client
        .list_layers()
        .compatible_architecture(Architecture::from("archdoesnotexist"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        message_of(&err),
        "1 validation error detected: Value 'archdoesnotexist' at 'compatibleArchitecture' failed to satisfy constraint: Member must satisfy enum value set: [x86_64, arm64]"
    );
    let err = client
        .list_layer_versions()
        .layer_name("errs")
        .max_items(51)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        message_of(&err),
        "1 validation error detected: Value '51' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 50"
    );

    let err = client
        .publish_layer_version()
        .layer_name("errs")
        .content(content(zip_of(&[("a", "a")])))
        .compatible_runtimes(Runtime::from("invalidruntime"))
        .compatible_runtimes(Runtime::Nodejs20x)
        .compatible_architectures(Architecture::from("invalidarch"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "ValidationException");
    let m = message_of(&err);
    assert!(
        m.starts_with("2 validation errors detected: Value '[invalidruntime, nodejs20.x]' at 'compatibleRuntimes' failed to satisfy constraint: Member must satisfy enum value set: [nodejs20.x, python3.14,"),
        "{m}"
    );
    assert!(
        m.ends_with("; Value '[invalidarch]' at 'compatibleArchitectures' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64]]"),
        "{m}"
    );
    let mut many = client
        .publish_layer_version()
        .layer_name("errs")
        .content(content(zip_of(&[("a", "a")])));
    for _ in 0..16 {
        many = many.compatible_runtimes(Runtime::Python312);
    }
    let err = many.send().await.unwrap_err();
    assert!(message_of(&err).ends_with(
        "at 'compatibleRuntimes' failed to satisfy constraint: Member must have length less than or equal to 15"
    ));
    let err = client
        .publish_layer_version()
        .layer_name("bad.name")
        .content(content(zip_of(&[("a", "a")])))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "ValidationException");
    assert!(message_of(&err).starts_with(
        "1 validation error detected: Value 'bad.name' at 'layerName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:"
    ));
    let err = client
        .publish_layer_version()
        .layer_name("errs")
        .content(content(b"not a zip".to_vec()))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "InvalidParameterValueException");
    assert_eq!(
        message_of(&err),
        "Could not unzip uploaded file. Please check your file, then try to upload again."
    );
    // Refused publishes used no version number.
    assert_eq!(publish(&client, "errs", &[("b", "b")]).await.version(), 2);
}

#[tokio::test]
async fn functions_refuse_layers_the_way_aws_does() {
    let server = TestServer::start().await;
    let client = server.client();
    let a1 = python_layer(&client, "la", "a1", &[]).await;
    let a2 = python_layer(&client, "la", "a2", &[]).await;
    let mut six = Vec::new();
    for i in 0..6 {
        six.push(python_layer(&client, &format!("l{i}"), "x", &[]).await);
    }
    let create = |layers: Vec<String>| {
        create_request(&client, "refused", python_zip()).set_layers(Some(layers))
    };

    let err = create(six.clone()).send().await.unwrap_err();
    assert_eq!(code_of(&err), "InvalidParameterValueException");
    assert_eq!(message_of(&err), "Cannot reference more than 5 layers.");
    let err = create(vec![a1.clone(), a2.clone()])
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "InvalidParameterValueException");
    assert_eq!(
        message_of(&err),
        format!(
            "Two different versions of the same layer are not allowed to be referenced in the same function. {a1} and {a2} are versions of the same layer."
        )
    );
    let unknown = format!("{REGION_ACCOUNT}:layer:doesnotexist:1");
    let err = create(vec![a1.clone(), unknown.clone()])
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "InvalidParameterValueException");
    assert_eq!(
        message_of(&err),
        format!("Layer version {unknown} does not exist.")
    );
    let unversioned = format!("{REGION_ACCOUNT}:layer:la");
    let err = create(vec![unversioned.clone()]).send().await.unwrap_err();
    assert_eq!(code_of(&err), "ValidationException");
    assert!(message_of(&err).starts_with(&format!(
        "1 validation error detected: Value '[{unversioned}]' at 'layers' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to 140, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: "
    )));
    let err = create(vec![
        "arn:aws:lambda:eu-west-1:000000000000:layer:la:1".into(),
    ])
    .send()
    .await
    .unwrap_err();
    assert_eq!(
        message_of(&err),
        "Layers are not in the same region as the function. Layers are expected to be in region us-east-1."
    );
    assert!(
        client
            .list_functions()
            .send()
            .await
            .unwrap()
            .functions()
            .is_empty(),
        "no refused create left a function"
    );

    // The same rules on UpdateFunctionConfiguration; five layers are fine.
    create_request(&client, "ok", python_zip())
        .set_layers(Some(six[..5].to_vec()))
        .send()
        .await
        .unwrap();
    let settled = wait_settled(&client, "ok").await;
    let arns: Vec<&str> = settled.layers().iter().filter_map(|l| l.arn()).collect();
    assert_eq!(
        arns,
        six[..5].iter().map(String::as_str).collect::<Vec<_>>()
    );
    let err = client
        .update_function_configuration()
        .function_name("ok")
        .layers(&a2)
        .layers(&a1)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        message_of(&err),
        format!(
            "Two different versions of the same layer are not allowed to be referenced in the same function. {a2} and {a1} are versions of the same layer."
        )
    );
    let err = client
        .update_function_configuration()
        .function_name("ok")
        .set_layers(Some(six.clone()))
        .send()
        .await
        .unwrap_err();
    assert_eq!(message_of(&err), "Cannot reference more than 5 layers.");
    // An empty list removes every layer, and the output drops `Layers`.
    let cleared = client
        .update_function_configuration()
        .function_name("ok")
        .set_layers(Some(vec![]))
        .send()
        .await
        .unwrap();
    assert!(cleared.layers().is_empty());
}

#[tokio::test]
async fn python_imports_layer_modules_and_later_layers_win() {
    let server = TestServer::start().await;
    let client = server.client();
    let a = python_layer(
        &client,
        "first",
        "a",
        &[("python/only_a.py", "A = 'from a'\n")],
    )
    .await;
    let b = python_layer(&client, "second", "b", &[]).await;
    let zip_len = |arn: &str| {
        let client = client.clone();
        let arn = arn.to_owned();
        async move {
            client
                .get_layer_version_by_arn()
                .arn(arn)
                .send()
                .await
                .unwrap()
                .content()
                .unwrap()
                .code_size()
        }
    };
    create_request(&client, "uses", zip_of(&[("app.py", LAYER_USER)]))
        .layers(&a)
        .send()
        .await
        .unwrap();
    let c = wait_settled(&client, "uses").await;
    assert_eq!(c.layers().len(), 1);
    assert_eq!(c.layers()[0].arn(), Some(a.as_str()));
    assert_eq!(c.layers()[0].code_size(), zip_len(&a).await);

    let got = invoke_json(&client, "uses", json!({})).await;
    assert_eq!(got["value"], "a", "{got}");
    assert_eq!(got["only_a"], "from a");
    assert_eq!(got["opt_writable"], "EROFS", "/opt is read-only");

    set_layers(&client, "uses", &[&a, &b]).await;
    let got = invoke_json(&client, "uses", json!({})).await;
    assert_eq!(got["value"], "b", "the later layer wins: {got}");
    assert_eq!(got["only_a"], "from a", "files of earlier layers stay");
    assert_eq!(got["python"], json!(["only_a.py", "shared.py"]));

    set_layers(&client, "uses", &[&b, &a]).await;
    let got = invoke_json(&client, "uses", json!({})).await;
    assert_eq!(
        got["value"], "a",
        "reordered layers, new environment: {got}"
    );

    set_layers(&client, "uses", &[]).await;
    let out = client
        .invoke()
        .function_name("uses")
        .payload(Blob::new("{}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.function_error(),
        Some("Unhandled"),
        "without layers the module is gone"
    );
}

#[tokio::test]
async fn node_requires_a_module_from_a_layer() {
    let server = TestServer::start().await;
    let client = server.client();
    let layer = publish(
        &client,
        "greet",
        &[(
            "nodejs/node_modules/greet/index.js",
            "module.exports = (name) => `hello ${name} from a layer`;\n",
        )],
    )
    .await;
    client
        .create_function()
        .function_name("node-greet")
        .runtime(Runtime::Nodejs20x)
        .role(ROLE)
        .handler("index.handler")
        .layers(layer.layer_version_arn().unwrap())
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(Blob::new(zip_of(&[(
                    "index.js",
                    "const greet = require('greet');\nexports.handler = async (event) => greet(event.name);\n",
                )])))
                .build(),
        )
        .send()
        .await
        .unwrap();
    wait_settled(&client, "node-greet").await;
    let got = invoke_json(&client, "node-greet", json!({"name": "lamina"})).await;
    assert_eq!(got, json!("hello lamina from a layer"));
}

/// The blob file of a digest, wherever the blob store shards it.
fn blob_exists(data_dir: &std::path::Path, zip: &[u8]) -> bool {
    let sha = hex::encode(Sha256::digest(zip));
    let mut stack = vec![data_dir.join("blobs")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == sha.as_str()) {
                return true;
            }
        }
    }
    false
}

#[tokio::test]
async fn layer_code_counts_in_storage_survives_restarts_and_outlives_deletion_while_used() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    let layer_zip = zip_of(&[("python/shared.py", "VALUE = 'kept'\n")]);
    let arn = {
        let mut server = TestServer::start_in(&dir, &[]);
        let client = server.client();
        let before = client.get_account_settings().send().await.unwrap();
        let published = client
            .publish_layer_version()
            .layer_name("kept")
            .content(content(layer_zip.clone()))
            .send()
            .await
            .unwrap();
        let after = client.get_account_settings().send().await.unwrap();
        assert_eq!(
            after.account_usage().unwrap().total_code_size()
                - before.account_usage().unwrap().total_code_size(),
            layer_zip.len() as i64,
            "layer code counts against the account's code storage"
        );
        let arn = published.layer_version_arn().unwrap().to_owned();
        create_request(&client, "keeper", zip_of(&[("app.py", LAYER_USER)]))
            .layers(&arn)
            .send()
            .await
            .unwrap();
        wait_settled(&client, "keeper").await;
        server.stop();
        arn
    };

    let mut server = TestServer::start_in(&dir, &[]);
    let client = server.client();
    let got = client
        .get_layer_version_by_arn()
        .arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.content().unwrap().code_sha256(),
        Some(sha256_b64(&layer_zip).as_str())
    );
    assert_eq!(
        invoke_json(&client, "keeper", json!({})).await["value"],
        "kept"
    );
    assert_eq!(
        publish(&client, "kept", &[("x", "x")]).await.version(),
        2,
        "numbering continues after a restart"
    );

    // Deleting the version hides it, but the function keeps it (and its code).
    client
        .delete_layer_version()
        .layer_name("kept")
        .version_number(1)
        .send()
        .await
        .unwrap();
    assert!(blob_exists(&dir, &layer_zip));
    let c = client
        .get_function_configuration()
        .function_name("keeper")
        .send()
        .await
        .unwrap();
    assert_eq!(c.layers()[0].arn(), Some(arn.as_str()));
    server.stop();
    let server = TestServer::start_in(&dir, &[]);
    let client = server.client();
    assert_eq!(
        invoke_json(&client, "keeper", json!({})).await["value"],
        "kept"
    );

    // Once nothing uses it, the blob is collected.
    client
        .delete_function()
        .function_name("keeper")
        .send()
        .await
        .unwrap();
    assert!(
        !blob_exists(&dir, &layer_zip),
        "the layer's blob was collected"
    );
}
