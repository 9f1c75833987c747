//! A stable-toolchain fuzz harness (no nightly `cargo fuzz` here): seeded random mutations of valid inputs through
//! every parser that sees client or operator bytes. The property: no panic, and nothing invalid is accepted as valid.
//! Deterministic (a fixed xorshift seed), so a failure reproduces; the counts are printed with `--nocapture`.

use fhir_jwt_proxy::config::{AuthorityRole, Config, LoadOptions};
use fhir_jwt_proxy::demo::issuer::{self, SigningKey};
use fhir_jwt_proxy::keys::Alg;
use fhir_jwt_proxy::token::{self, ValidationSettings};
use fhir_jwt_proxy::{fhir, scope};
use serde_json::json;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Flip, insert, delete or duplicate a few bytes.
fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(5) {
            0 if at < out.len() => out[at] ^= 1 << rng.below(8),
            1 => out.insert(at, rng.next() as u8),
            2 if at < out.len() => {
                out.remove(at);
            }
            3 => {
                let piece: Vec<u8> = out[at..].iter().take(1 + rng.below(16)).copied().collect();
                out.splice(at..at, piece);
            }
            _ => out.insert(at, b"{}[]\":,.=%/?*"[rng.below(13)]),
        }
    }
    out
}

#[test]
fn token_path_survives_mutated_tokens_and_accepts_only_the_original() {
    const ISS: &str = "https://idp.example";
    let key = SigningKey::generate(Alg::RS256, "k1").expect("key");
    let keys = issuer::key_set(ISS, &[&key]).expect("keys");
    let config = Config::from_json(
        json!({"smartIdentityProviders": [{"authority": ISS, "applications": [
            {"clientId": "app", "audience": "fhir", "allowedDataActions": ["Read"]}]}]})
        .to_string()
        .as_bytes(),
        LoadOptions::default(),
    )
    .expect("config");
    let claims = json!({"iss": ISS, "aud": "fhir", "azp": "app", "scp": "patient/*.read", "fhirUser": "Patient/1", "exp": 4_000_000_000u64});
    let valid = issuer::mint(&key, Alg::RS256, &claims);
    let settings = ValidationSettings::default();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut executions = 0u32;
    for _ in 0..20_000 {
        let mutant = mutate(&mut rng, valid.as_bytes());
        let Ok(text) = String::from_utf8(mutant) else {
            continue;
        };
        executions += 1;
        let Ok(jws) = token::parse(&text, &settings) else {
            continue;
        };
        if jws.verify_signature(&keys).is_err() {
            continue;
        }
        let Ok(exp) = jws.check_times(1_800_000_000, 300) else {
            continue;
        };
        if token::identify(&jws, &[AuthorityRole::Smart(0)], &config, &settings, exp).is_ok()
            && text != valid
        {
            // Only padding-free base64 variants that decode to the same bytes could pass; none may differ in meaning.
            panic!("a mutated token was accepted: {text}");
        }
    }
    println!("token fuzz: {executions} executions, 0 mutants accepted");
    assert!(executions > 12_000);
}

#[test]
fn scope_parser_and_classifier_survive_mutations() {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let scopes = b"patient/Observation.rs?category=laboratory patient.all.read user/*.cruds openid fhirUser launch/patient";
    let lines: [&[u8]; 3] = [
        b"/Observation?code=x&_include=Observation:subject:Patient&subject:Patient.name=a&_has:Condition:subject:code=1",
        b"/Patient/123/Observation/_history/2",
        b"/$export?_type=Patient,Observation",
    ];
    let mut executions = 0u32;
    for _ in 0..20_000 {
        if let Ok(s) = String::from_utf8(mutate(&mut rng, scopes)) {
            let _ = scope::parse(&s);
            executions += 1;
        }
        let line = lines[rng.below(lines.len())];
        if let Ok(l) = String::from_utf8(mutate(&mut rng, line)) {
            let (path, query) = l
                .split_once('?')
                .map_or((l.as_str(), None), |(p, q)| (p, Some(q)));
            let _ = fhir::request::classify(&http::Method::GET, path, query);
            executions += 1;
        }
    }
    println!("scope/classifier fuzz: {executions} executions");
    assert!(executions > 25_000);
}

#[test]
fn config_loader_survives_mutated_files() {
    let seed =
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/config/wrapped.json")).expect("seed");
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let (mut executions, mut valid) = (0u32, 0u32);
    for _ in 0..10_000 {
        let mutant = mutate(&mut rng, &seed);
        executions += 1;
        match Config::from_json(&mutant, LoadOptions::default()) {
            Ok(_) => valid += 1,
            // Every error names a path and says something.
            Err(e) => assert!(e.to_string().contains(": "), "{e}"),
        }
    }
    println!("config fuzz: {executions} executions, {valid} still valid");
}
