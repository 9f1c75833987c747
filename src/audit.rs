//! The decision audit trail: one structured record per authorization decision, to its own sinks, never blocking a
//! request.
//!
//! In: an [`AuditRecord`] per request (time, request id, provider, client id, `sub`, `fhirUser`, FHIR interaction,
//! resource type and id, outcome, reason, status) — never a token, query values or a body. Out, per the config's
//! `proxy.audit`: JSON lines in a file with size-based rotation (`file`, `file.1` … `file.<keep>`), the `audit` tracing
//! target on stdout, and optionally a FHIR R4 `AuditEvent` per decision POSTed to a FHIR endpoint. Records travel
//! through bounded queues; a full queue drops the record, counts it (`fhir_jwt_proxy_audit_dropped_total`) and logs a
//! warning, and the request goes on.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use tokio::sync::mpsc;
use url::Url;

pub use crate::config::extensions::AuditSettings;

/// One authorization decision.
#[derive(Debug, Clone, Serialize)]
pub struct AuditRecord {
    /// RFC 3339, UTC.
    pub time: String,
    pub request_id: String,
    pub provider: &'static str,
    pub client_id: String,
    pub sub: Option<String>,
    pub fhir_user: Option<String>,
    pub interaction: &'static str,
    pub resource_type: &'static str,
    pub resource_id: Option<String>,
    /// `forwarded` or the refusal reason.
    pub outcome: &'static str,
    pub status: u16,
    /// The file's roles a primary token holds, comma-joined, when roles authorized it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<String>,
}

impl AuditRecord {
    /// The record as a FHIR R4 AuditEvent (type rest, subtype the interaction, outcome 0 or 4/8).
    pub fn to_audit_event(&self) -> serde_json::Value {
        let success = self.outcome == "forwarded";
        let outcome = if success {
            "0"
        } else if self.status >= 500 {
            "8"
        } else {
            "4"
        };
        let mut entity = Vec::new();
        if let (rt, Some(id)) = (self.resource_type, &self.resource_id) {
            entity.push(serde_json::json!({"what": {"reference": format!("{rt}/{id}")}}));
        }
        serde_json::json!({
            "resourceType": "AuditEvent",
            "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest", "display": "RESTful Operation"},
            "subtype": [{"system": "http://hl7.org/fhir/restful-interaction", "code": self.interaction}],
            "recorded": self.time,
            "outcome": outcome,
            "outcomeDesc": self.outcome,
            "agent": [{
                "who": self.fhir_user.as_ref().map(|u| serde_json::json!({"reference": u})),
                "altId": self.sub,
                "requestor": true,
                "name": self.client_id,
            }],
            "source": {"observer": {"display": "fhir-jwt-proxy"}, "site": self.provider},
            "entity": entity,
            "extension": [{"url": "urn:fhir-jwt-proxy:request-id", "valueString": self.request_id}],
        })
    }
}

/// RFC 3339 UTC timestamp with milliseconds, without a date crate.
pub fn now_rfc3339() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let (secs, millis) = (d.as_secs() as i64, d.subsec_millis());
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (year, month, day) = crate::log_format::civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The running audit sinks; cheap to clone.
#[derive(Clone, Default)]
pub struct Auditor {
    file: Option<mpsc::Sender<AuditRecord>>,
    events: Option<mpsc::Sender<AuditRecord>>,
    stdout: bool,
    dropped: Arc<AtomicU64>,
    metrics: Option<crate::metrics::Metrics>,
}

impl std::fmt::Debug for Auditor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auditor")
            .field("stdout", &self.stdout)
            .finish_non_exhaustive()
    }
}

impl Auditor {
    /// Start the sink tasks. `client` posts AuditEvents.
    pub fn start(
        settings: &AuditSettings,
        client: reqwest::Client,
        metrics: crate::metrics::Metrics,
    ) -> Auditor {
        let file = settings.file.clone().map(|path| {
            let (tx, rx) = mpsc::channel(settings.queue);
            let (max, keep) = (settings.max_bytes, settings.keep);
            std::thread::Builder::new()
                .name("audit-file".into())
                .spawn(move || write_file(rx, path, max, keep))
                .ok()
                .map(|_| tx)
        });
        let events = settings.endpoint.clone().map(|endpoint| {
            let (tx, rx) = mpsc::channel(settings.queue);
            tokio::spawn(post_events(rx, endpoint, client));
            tx
        });
        Auditor {
            file: file.flatten(),
            events,
            stdout: settings.stdout,
            dropped: Arc::new(AtomicU64::new(0)),
            metrics: Some(metrics),
        }
    }

    pub fn enabled(&self) -> bool {
        self.file.is_some() || self.events.is_some() || self.stdout
    }

    /// Hand a record to every sink without waiting.
    pub fn record(&self, record: AuditRecord) {
        if self.stdout {
            if let Ok(line) = serde_json::to_string(&record) {
                tracing::info!(target: "audit", record = %line, "audit");
            }
        }
        for queue in [&self.events, &self.file].into_iter().flatten() {
            if queue.try_send(record.clone()).is_err() {
                let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if let Some(m) = &self.metrics {
                    m.audit_dropped();
                }
                if n.is_power_of_two() {
                    tracing::warn!(dropped = n, "audit queue full; records dropped");
                }
            }
        }
    }
}

/// JSON lines with size-based rotation: `path` → `path.1` → … → `path.<keep>` (the oldest is removed).
fn write_file(mut rx: mpsc::Receiver<AuditRecord>, path: PathBuf, max_bytes: u64, keep: u32) {
    let open = |p: &PathBuf| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
    };
    let Ok(mut file) = open(&path) else {
        tracing::error!(file = %path.display(), "cannot open the audit file; file audit disabled");
        return;
    };
    let mut size = file.metadata().map(|m| m.len()).unwrap_or(0);
    while let Some(record) = rx.blocking_recv() {
        let Ok(mut line) = serde_json::to_vec(&record) else {
            continue;
        };
        line.push(b'\n');
        if size > 0 && size + line.len() as u64 > max_bytes {
            let _ = file.flush();
            let rotated = |n: u32| PathBuf::from(format!("{}.{n}", path.display()));
            let _ = std::fs::remove_file(rotated(keep));
            for n in (1..keep).rev() {
                let _ = std::fs::rename(rotated(n), rotated(n + 1));
            }
            let _ = std::fs::rename(&path, rotated(1));
            match open(&path) {
                Ok(f) => {
                    file = f;
                    size = 0;
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot reopen the audit file after rotation");
                    return;
                }
            }
        }
        if file.write_all(&line).is_ok() {
            size += line.len() as u64;
        }
        let _ = file.flush();
    }
}

async fn post_events(mut rx: mpsc::Receiver<AuditRecord>, endpoint: Url, client: reqwest::Client) {
    while let Some(record) = rx.recv().await {
        let result = client
            .post(endpoint.clone())
            .header("content-type", "application/fhir+json")
            .body(record.to_audit_event().to_string())
            .send()
            .await;
        match result {
            Ok(r) if r.status().is_success() => {}
            Ok(r) => tracing::warn!(status = r.status().as_u16(), "AuditEvent not accepted"),
            Err(e) => tracing::warn!(error = %e, "AuditEvent could not be sent"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        let t = now_rfc3339();
        assert_eq!(t.len(), 24, "{t}");
        assert!(t.ends_with('Z') && t.as_bytes()[10] == b'T', "{t}");
    }

    #[test]
    fn audit_events_carry_the_decision_and_no_secrets() {
        let r = AuditRecord {
            time: now_rfc3339(),
            request_id: "r1".into(),
            provider: "smart[0]",
            client_id: "portal".into(),
            sub: Some("u1".into()),
            fhir_user: Some("Patient/123".into()),
            interaction: "read",
            resource_type: "Observation",
            resource_id: Some("9".into()),
            outcome: "not_in_compartment",
            status: 404,
            roles: None,
        };
        let e = r.to_audit_event();
        assert_eq!(e["resourceType"], "AuditEvent");
        assert_eq!(e["outcome"], "4");
        assert_eq!(e["entity"][0]["what"]["reference"], "Observation/9");
        assert_eq!(e["agent"][0]["who"]["reference"], "Patient/123");
    }
}
