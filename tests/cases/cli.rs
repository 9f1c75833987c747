//! The binary as other tools drive it: exit codes 0/1/2, `check`, `run` with a bad file, `demo --self-test`.

use std::process::{Command, Output};

use serde_json::json;

use crate::support::*;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fhir-jwt-proxy"));
    c.env_remove("RUST_LOG");
    c
}

fn write_config(
    dir: &std::path::Path,
    name: &str,
    value: &serde_json::Value,
) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, value.to_string()).expect("write config");
    path
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir =
        std::env::temp_dir().join(format!("fhir-jwt-proxy-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

async fn run(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().expect("binary runs"))
        .await
        .expect("join")
}

#[tokio::test]
async fn check_offline_accepts_the_azure_example_unchanged() {
    let mut c = bin();
    c.args(["check", "--offline", "--config"]).arg(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/azure-arm.json"
    ));
    let out = run(c).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("2 SMART identity provider(s)"), "{stdout}");
}

#[tokio::test]
async fn check_offline_exits_2_naming_the_json_path_and_rule() {
    let dir = temp_dir("bad");
    let bad = json!({"authenticationConfiguration": {"smartIdentityProviders": [
        {"authority": "https://idp.example", "applications": [
            {"clientId": "a", "audience": "x", "allowedDataActions": ["Read"]},
            {"clientId": "b", "audience": "", "allowedDataActions": ["Read"]}
        ]}
    ]}});
    let mut c = bin();
    c.args(["check", "--offline", "--config"])
        .arg(write_config(&dir, "bad.json", &bad));
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("smartIdentityProviders[0].applications[1].audience: must not be empty"),
        "{stdout}"
    );
}

#[tokio::test]
async fn check_fetches_discovery_and_keys_and_exits_0() {
    let w = World::new().await;
    let dir = temp_dir("online");
    let mut c = bin();
    c.args(["check", "--allow-insecure-http", "--config"])
        .arg(write_config(&dir, "ok.json", &w.config()));
    let out = run(c).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains(&format!("issuer:   {}", w.smart_a.issuer())),
        "{stdout}"
    );
    assert!(
        stdout.contains("key kid=rsa-1 kty=RSA alg=RS256"),
        "{stdout}"
    );
    assert!(stdout.contains("key kid=ec-1 kty=EC alg=ES256"), "{stdout}");
}

#[tokio::test]
async fn check_exits_1_when_an_authority_cannot_be_reached() {
    let w = World::new().await;
    w.smart_b.stop();
    let dir = temp_dir("down");
    let mut c = bin();
    c.args(["check", "--allow-insecure-http", "--config"])
        .arg(write_config(&dir, "down.json", &w.config()));
    let out = run(c).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAILED discovery"), "{stdout}");
}

#[tokio::test]
async fn q16_http_authority_without_the_insecure_flag_is_a_config_error() {
    let w = World::new().await;
    let dir = temp_dir("insecure");
    let mut c = bin();
    c.args(["check", "--offline", "--config"])
        .arg(write_config(&dir, "http.json", &w.config()));
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("allow-insecure-http"));
}

#[tokio::test]
async fn run_with_an_invalid_config_exits_2() {
    let dir = temp_dir("run-bad");
    let mut c = bin();
    c.args([
        "run",
        "--upstream",
        "http://127.0.0.1:1",
        "--listen",
        "127.0.0.1:0",
        "--admin-listen",
        "127.0.0.1:0",
        "--config",
    ])
    .arg(write_config(
        &dir,
        "bad.json",
        &json!({"smartIdentityProviders": []}),
    ));
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("smartIdentityProviders"));
}

#[tokio::test]
async fn usage_errors_exit_2_and_help_documents_the_environment() {
    let mut c = bin();
    c.args(["run", "--no-such-flag"]);
    assert_eq!(run(c).await.status.code(), Some(2));
    let mut c = bin();
    c.args(["run", "--help"]);
    let out = run(c).await;
    let help = String::from_utf8_lossy(&out.stdout);
    for env in [
        "FHIR_JWT_PROXY_CONFIG",
        "FHIR_JWT_PROXY_UPSTREAM",
        "FHIR_JWT_PROXY_LISTEN",
        "FHIR_JWT_PROXY_CLOCK_LEEWAY",
    ] {
        assert!(help.contains(env), "{env} missing from --help");
    }
    let mut c = bin();
    c.args([
        "run",
        "--clock-leeway",
        "601",
        "--config",
        "x",
        "--upstream",
        "http://x",
    ]);
    assert_eq!(
        run(c).await.status.code(),
        Some(2),
        "Q15: leeway above 600 is a usage error"
    );
    let mut c = bin();
    c.args([
        "run",
        "--workers",
        "1025",
        "--config",
        "x",
        "--upstream",
        "http://x",
    ]);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2), "more than 1024 workers");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--workers"));
}

#[tokio::test]
async fn flags_are_read_from_the_environment() {
    let dir = temp_dir("env");
    let mut c = bin();
    c.args(["check", "--offline"]).env(
        "FHIR_JWT_PROXY_CONFIG",
        write_config(&dir, "env.json", &json!({"smartIdentityProviders": null})),
    );
    let out = run(c).await;
    // The file is read (through the environment) and refused for having no provider.
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no identity provider configured"));
}

#[tokio::test]
async fn demo_self_test_gets_every_announced_answer() {
    let mut c = bin();
    c.args(["demo", "--self-test", "--listen", "127.0.0.1:0"]);
    let out = run(c).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("self-test: all answers matched"),
        "{stdout}"
    );
    assert!(stdout.contains("curl -s -i"), "{stdout}");
}

#[tokio::test]
async fn check_format_json_is_parseable_for_pipelines() {
    let w = World::new().await;
    w.smart_b.stop();
    let dir = temp_dir("json");
    let mut c = bin();
    c.args([
        "check",
        "--format",
        "json",
        "--allow-insecure-http",
        "--config",
    ])
    .arg(write_config(&dir, "ok.json", &w.config()));
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(1), "provider B is down");
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    assert_eq!(report["valid"], true);
    assert_eq!(report["applications"], 3);
    let authorities = report["authorities"].as_array().expect("authorities");
    assert_eq!(authorities.len(), 3);
    assert_eq!(authorities[1]["issuer"], w.smart_a.issuer());
    assert_eq!(authorities[1]["keys"].as_array().map(Vec::len), Some(2));
    assert!(authorities[2]["error"]
        .as_str()
        .is_some_and(|e| e.starts_with("discovery")));

    let mut c = bin();
    c.args(["check", "--offline", "--format", "json", "--config"])
        .arg(write_config(
            &dir,
            "bad.json",
            &json!({"smartIdentityProviders": [{"authority": "https://x"}]}),
        ));
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["valid"], false);
    assert!(report["error"]
        .as_str()
        .is_some_and(|e| e.contains("smartIdentityProviders[0].applications")));
}

#[tokio::test]
async fn every_sample_config_passes_check_offline() {
    let mut files: Vec<std::path::PathBuf> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/config"))
            .expect("config dir")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
    files.sort();
    assert!(files.len() >= 7, "{files:?}");
    for file in files {
        let mut c = bin();
        c.args(["check", "--offline", "--config"]).arg(&file);
        let out = run(c).await;
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

#[tokio::test]
async fn the_kubernetes_example_config_map_holds_a_valid_config() {
    let yaml = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/kubernetes/fhir-jwt-proxy.yaml"
    ))
    .expect("example");
    // The JSON block of the ConfigMap: the lines between `authentication.json: |` and the document end.
    let start = yaml.find("authentication.json: |").expect("config map key");
    let block: String = yaml[start..]
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with("---"))
        .collect::<Vec<_>>()
        .join("\n");
    fhir_jwt_proxy::config::Config::from_json(block.as_bytes(), Default::default())
        .expect("valid config in the ConfigMap");
}
