//! Run: `cargo run --release --example bench_issuer -- <out-dir> <fresh-token-count>`
//!
//! The identity provider for the load harness (benches/load.sh): a local issuer with discovery and JWKS on
//! loopback, a config for the proxy, and token files: `one.txt` (1 token), `pool.txt` (1,000 tokens) and
//! `fresh.txt` (<fresh-token-count> distinct tokens, one per request of the cache-miss run). All RS256, valid for
//! two hours, for application `bench-app` and Patient/123; `rs256.pem`, the signing key's public half, and
//! `issuer.txt`, for the haproxy reference. It prints `ready` and then serves until killed.

use std::io::Write;
use std::path::PathBuf;

use fhir_jwt_proxy::demo::issuer::LocalIssuer;
use fhir_jwt_proxy::proxy::unix_now;
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "target/bench".into()));
    let fresh: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(50_000);
    std::fs::create_dir_all(&dir)?;
    let idp = LocalIssuer::start("/realms/bench").await?;
    let config = json!({"authenticationConfiguration": {"smartIdentityProviders": [{
        "authority": idp.issuer(),
        "applications": [{"clientId": "bench-app", "audience": "fhir-api", "allowedDataActions": ["Read"]}]
    }]}});
    std::fs::write(dir.join("config.json"), config.to_string())?;
    // haproxy's jwt_verify reads a PEM key file, not a JWKS.
    std::fs::write(dir.join("rs256.pem"), idp.rsa.public_key_pem()?)?;
    std::fs::write(dir.join("issuer.txt"), idp.issuer())?;
    let now = unix_now();
    let mint = |i: usize| {
        idp.mint(&json!({
            "iss": idp.issuer(), "sub": format!("user-{i}"), "aud": "fhir-api", "azp": "bench-app",
            "scp": "patient/*.read openid fhirUser", "fhirUser": "Patient/123",
            "iat": now, "exp": now + 7200, "jti": i,
        }))
    };
    for (name, count) in [("one.txt", 1), ("pool.txt", 1000), ("fresh.txt", fresh)] {
        let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join(name))?);
        for i in 0..count {
            writeln!(
                out,
                "{}",
                mint(i + if name == "fresh.txt" { 1_000_000 } else { 0 })
            )?;
        }
    }
    println!("ready {}", idp.issuer());
    std::io::stdout().flush()?;
    tokio::signal::ctrl_c().await?;
    Ok(())
}
