//! The JSON log line, written directly: one object per event, in the shape of tracing-subscriber's JSON format
//! (`timestamp`, `level`, `fields`, `target`), so log pipelines and the tests read it the same way.
//!
//! Why not tracing-subscriber's own JSON formatter: it goes through serde visitors and a general date formatter,
//! and the per-request log line was the largest single cost of a forwarded request in the profile (≈ 19 % of the
//! proxy's instructions). This writes the same object with a hand-rolled escaper and timestamp.

use std::fmt::{self, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// `{"timestamp":"…Z","level":"INFO","fields":{…},"target":"…"}` per event, one line each.
#[derive(Debug, Default, Clone, Copy)]
pub struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        writer.write_str("{\"timestamp\":\"")?;
        write_timestamp(&mut writer, SystemTime::now())?;
        writer.write_str("\",\"level\":\"")?;
        writer.write_str(meta.level().as_str())?;
        writer.write_str("\",\"fields\":{")?;
        let mut fields = FieldWriter {
            out: &mut writer,
            first: true,
            result: Ok(()),
        };
        event.record(&mut fields);
        fields.result?;
        writer.write_str("},\"target\":")?;
        write_json_str(&mut writer, meta.target())?;
        writer.write_str("}\n")
    }
}

/// Writes each field as `"name":value`, numbers and booleans bare, everything else as an escaped string.
struct FieldWriter<'a, 'w> {
    out: &'a mut Writer<'w>,
    first: bool,
    result: fmt::Result,
}

impl FieldWriter<'_, '_> {
    fn key(&mut self, field: &Field) -> fmt::Result {
        self.out.write_str(if std::mem::take(&mut self.first) {
            "\""
        } else {
            ",\""
        })?;
        // Field names are Rust identifiers (the macros take nothing else): nothing in them needs escaping.
        self.out.write_str(field.name())?;
        self.out.write_str("\":")
    }

    fn put(&mut self, write: impl FnOnce(&mut Writer<'_>) -> fmt::Result, field: &Field) {
        if self.result.is_ok() {
            self.result = self.key(field).and_then(|()| write(self.out));
        }
    }
}

impl Visit for FieldWriter<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(|out| write_json_str(out, value), field);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(|out| out.write_str(decimal(value, &mut [0; 20])), field);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(|out| write!(out, "{value}"), field);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(
            |out| out.write_str(if value { "true" } else { "false" }),
            field,
        );
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        // JSON has no NaN or infinity: those become strings.
        if value.is_finite() {
            self.put(|out| write!(out, "{value}"), field);
        } else {
            self.put(|out| write!(out, "\"{value}\""), field);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(
            |out| {
                out.write_char('"')?;
                write!(Escaped(out), "{value:?}")?;
                out.write_char('"')
            },
            field,
        );
    }
}

/// The request line's fields, in the order they are written (every value bounded: never the token, the query, a
/// body or a path id).
pub struct RequestLine<'a> {
    pub request_id: &'a str,
    pub method: &'a str,
    pub interaction: &'a str,
    pub resource_type: &'a str,
    pub status: u16,
    pub outcome: &'a str,
    pub provider: &'a str,
    pub client_id: &'a str,
    pub roles: &'a str,
    pub trace_id: &'a str,
    pub latency_us: u64,
    /// `error` or `detail`, and its text.
    pub extra: Option<(&'static str, &'a dyn fmt::Display)>,
}

impl RequestLine<'_> {
    /// The extra field's text when it has this name.
    pub fn extra_named(&self, name: &str) -> Option<&dyn fmt::Display> {
        self.extra
            .filter(|(n, _)| *n == name)
            .map(|(_, value)| value)
    }
}

/// The `tracing::Level` of a request line's level name (`info`, `warn`).
macro_rules! request_level {
    (info) => {
        tracing::Level::INFO
    };
    (warn) => {
        tracing::Level::WARN
    };
}
pub(crate) use request_level;

/// A [`RequestLine`] as a tracing event, its fields under the same names: the path when
/// [`write_request_line`] is not set up (pretty logs, tests' own subscribers).
macro_rules! trace_request_line {
    ($level:ident, $line:expr) => {{
        let line: &$crate::log_format::RequestLine<'_> = $line;
        tracing::$level!(
            request_id = line.request_id,
            method = line.method,
            interaction = line.interaction,
            resource_type = line.resource_type,
            status = line.status,
            outcome = line.outcome,
            provider = line.provider,
            client_id = line.client_id,
            roles = line.roles,
            trace_id = line.trace_id,
            latency_us = line.latency_us,
            error = line.extra_named("error").map(tracing::field::display),
            detail = line.extra_named("detail").map(tracing::field::display),
            "request"
        )
    }};
}
pub(crate) use trace_request_line;

/// Send a [`RequestLine`] at `level` (`info`, `warn`) if tracing's filter (`RUST_LOG`) lets that level through
/// where the macro is used: straight into the log queue when [`send_request_lines_to`] was called, else as a
/// tracing event.
macro_rules! emit_request_line {
    ($level:ident, $line:expr) => {{
        let line: &$crate::log_format::RequestLine<'_> = $line;
        if tracing::enabled!($crate::log_format::request_level!($level))
            && !$crate::log_format::write_request_line(
                $crate::log_format::request_level!($level),
                line,
            )
        {
            $crate::log_format::trace_request_line!($level, line)
        }
    }};
}
pub(crate) use emit_request_line;

/// Where JSON request lines go when they bypass tracing: the log writer's queue, set once by the binary.
static DIRECT: std::sync::OnceLock<tracing_appender::non_blocking::NonBlocking> =
    std::sync::OnceLock::new();

thread_local! {
    /// Each thread's handle on the queue, and its line buffer (reused: no allocation per line but the queue's).
    static LOCAL: std::cell::RefCell<(Option<tracing_appender::non_blocking::NonBlocking>, String)> =
        const { std::cell::RefCell::new((None, String::new())) };
}

/// With `--log-format json`, the request line (one per request, the most frequent event by far) is written by
/// [`write_request_line`] straight into the log writer's queue instead of through tracing's dispatch, field visitor
/// and formatter (≈ 6,000 instructions of a ≈ 60,000-instruction request). Same object, same queue, same filter:
/// the caller still asks tracing whether the event is enabled. Without this (pretty logs, tests' own subscribers)
/// the line goes through tracing.
pub fn send_request_lines_to(writer: tracing_appender::non_blocking::NonBlocking) {
    let _ = DIRECT.set(writer);
}

/// Write the request line directly, if [`send_request_lines_to`] was called; false when the caller must send it
/// through tracing instead.
pub fn write_request_line(level: tracing::Level, line: &RequestLine<'_>) -> bool {
    let Some(direct) = DIRECT.get() else {
        return false;
    };
    LOCAL.with(|local| {
        let Ok(mut local) = local.try_borrow_mut() else {
            return false;
        };
        let (sink, buf) = &mut *local;
        buf.clear();
        if format_request_line(buf, level, line, SystemTime::now()).is_err() {
            return false;
        }
        let sink = sink.get_or_insert_with(|| direct.clone());
        // A failed write is the log writer's to report (it counts what it could not take); never the request's.
        let _ = std::io::Write::write_all(sink, buf.as_bytes());
        true
    })
}

/// One request line as [`JsonLines`] writes the event `request_line!` would have sent through tracing.
fn format_request_line(
    out: &mut String,
    level: tracing::Level,
    line: &RequestLine<'_>,
    now: SystemTime,
) -> fmt::Result {
    out.push_str("{\"timestamp\":\"");
    write_timestamp(out, now)?;
    out.push_str("\",\"level\":\"");
    out.push_str(level.as_str());
    out.push_str("\",\"fields\":{\"message\":\"request\"");
    for (name, value) in [
        ("request_id", line.request_id),
        ("method", line.method),
        ("interaction", line.interaction),
        ("resource_type", line.resource_type),
    ] {
        string_field(out, name, value)?;
    }
    out.push_str(",\"status\":");
    out.push_str(decimal(u64::from(line.status), &mut [0; 20]));
    for (name, value) in [
        ("outcome", line.outcome),
        ("provider", line.provider),
        ("client_id", line.client_id),
        ("roles", line.roles),
        ("trace_id", line.trace_id),
    ] {
        string_field(out, name, value)?;
    }
    out.push_str(",\"latency_us\":");
    out.push_str(decimal(line.latency_us, &mut [0; 20]));
    if let Some((name, value)) = line.extra {
        out.push_str(",\"");
        out.push_str(name);
        out.push_str("\":\"");
        write!(Escaped(out), "{value}")?;
        out.push('"');
    }
    out.push_str("},\"target\":\"fhir_jwt_proxy::proxy\"}\n");
    Ok(())
}

fn string_field(out: &mut String, name: &str, value: &str) -> fmt::Result {
    out.push_str(",\"");
    out.push_str(name);
    out.push_str("\":");
    write_json_str(out, value)
}

/// `value` in decimal, written into `buf` (statuses and latencies: one per request line, without `fmt`).
fn decimal(mut value: u64, buf: &mut [u8; 20]) -> &str {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[at..]).unwrap_or("0")
}

fn write_json_str(out: &mut impl Write, s: &str) -> fmt::Result {
    out.write_char('"')?;
    Escaped(out).write_str(s)?;
    out.write_char('"')
}

/// A `fmt::Write` that escapes what passes through for the inside of a JSON string.
struct Escaped<'a, W: Write>(&'a mut W);

/// Does any byte need escaping? Written without an early exit so the compiler can check 16 or 32 bytes at a time:
/// most strings in a log line need none, and then they are copied in one piece.
fn needs_escaping(s: &str) -> bool {
    s.bytes().fold(false, |any, b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\') | (b == 0x7f)
    })
}

impl<W: Write> Write for Escaped<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if !needs_escaping(s) {
            return self.0.write_str(s);
        }
        let mut plain = 0;
        for (i, b) in s.bytes().enumerate() {
            let escape = match b {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0..=0x1f | 0x7f => "",
                _ => continue,
            };
            self.0.write_str(&s[plain..i])?;
            if escape.is_empty() {
                write!(self.0, "\\u{b:04x}")?;
            } else {
                self.0.write_str(escape)?;
            }
            plain = i + 1;
        }
        self.0.write_str(&s[plain..])
    }
}

/// RFC 3339 in UTC with microseconds: `2026-11-23T12:59:01.123456Z`. Digits written by hand: one per log line, and
/// `write!` with padding was a visible part of the line's cost.
fn write_timestamp(out: &mut impl Write, now: SystemTime) -> fmt::Result {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    let mut buf = *b"0000-00-00T00:00:00.000000Z";
    let mut put = |at: usize, width: usize, mut value: u64| {
        for i in (at..at + width).rev() {
            buf[i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, 4, y.clamp(0, 9999) as u64);
    put(5, 2, u64::from(m));
    put(8, 2, u64::from(d));
    put(11, 2, rem / 3600);
    put(14, 2, rem / 60 % 60);
    put(17, 2, rem % 60);
    put(20, 6, u64::from(since.subsec_micros()));
    out.write_str(std::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day) (H. Hinnant's `civil_from_days`).
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        let mut s = String::new();
        let t = UNIX_EPOCH + Duration::from_micros(1_795_438_741_123_456);
        write_timestamp(&mut s, t).expect("write");
        assert_eq!(s, "2026-11-23T12:59:01.123456Z");
        s.clear();
        write_timestamp(&mut s, UNIX_EPOCH + Duration::from_secs(951_782_400)).expect("write");
        assert_eq!(s, "2000-02-29T00:00:00.000000Z");
        s.clear();
        write_timestamp(&mut s, UNIX_EPOCH).expect("write");
        assert_eq!(s, "1970-01-01T00:00:00.000000Z");
        s.clear();
        let last = UNIX_EPOCH + Duration::from_micros(253_402_300_799_000_007);
        write_timestamp(&mut s, last).expect("write");
        assert_eq!(s, "9999-12-31T23:59:59.000007Z");
    }

    #[test]
    fn numbers_are_written_in_decimal() {
        for n in [0, 7, 10, 200, 99_999, u64::MAX] {
            assert_eq!(decimal(n, &mut [0; 20]), n.to_string());
        }
    }

    #[test]
    fn strings_are_escaped() {
        let mut s = String::new();
        write_json_str(&mut s, "a\"b\\c\nd\u{1}e\u{7f}é").expect("write");
        assert_eq!(s, r#""a\"b\\c\nd\u0001e\u007fé""#);
        let back: String = serde_json::from_str(&s).expect("valid JSON");
        assert_eq!(back, "a\"b\\c\nd\u{1}e\u{7f}é");
    }

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn an_event_is_one_json_object_in_tracing_subscribers_shape() {
        let captured = Captured::default();
        let sink = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .event_format(JsonLines)
            .with_writer(move || sink.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let method = http::Method::GET;
            tracing::info!(
                request_id = "r1", %method, status = 200u16, ok = true, ratio = 0.5, delta = -3i64,
                detail = ?"quote\"d", "request"
            );
            tracing::warn!(target: "audit", record = "{\"a\":1}");
        });
        let text = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf8");
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("each line is JSON"))
            .collect();
        assert_eq!(lines.len(), 2, "{text}");
        let f = &lines[0]["fields"];
        assert_eq!(f["message"], "request");
        assert_eq!(f["request_id"], "r1");
        assert_eq!(f["method"], "GET");
        assert_eq!(f["status"], 200);
        assert_eq!(f["ok"], true);
        assert_eq!(f["ratio"], 0.5);
        assert_eq!(f["delta"], -3);
        assert_eq!(f["detail"], "\"quote\\\"d\"");
        assert_eq!(lines[0]["level"], "INFO");
        assert!(lines[0]["timestamp"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z') && t.len() == 27));
        assert!(lines[0]["target"]
            .as_str()
            .is_some_and(|t| t.contains("log_format")));
        assert_eq!(lines[1]["target"], "audit");
        assert_eq!(lines[1]["level"], "WARN");
        assert_eq!(lines[1]["fields"]["record"], "{\"a\":1}");
    }

    /// The directly written request line is the object tracing would have written for the same event.
    #[test]
    fn the_direct_request_line_is_the_tracing_events_object() {
        let error = "upstream said \"no\"\n";
        let line = RequestLine {
            request_id: "0123abcd",
            method: "GET",
            interaction: "read",
            resource_type: "Patient",
            status: 502,
            outcome: "upstream_unavailable",
            provider: "smart-0",
            client_id: "portal",
            roles: "-",
            trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
            latency_us: 1234,
            extra: Some(("error", &error)),
        };
        let mut direct = String::new();
        format_request_line(&mut direct, tracing::Level::WARN, &line, SystemTime::now())
            .expect("format");
        assert!(
            direct.ends_with("}\n") && direct.matches('\n').count() == 1,
            "{direct}"
        );
        let direct: serde_json::Value = serde_json::from_str(&direct).expect("one JSON object");

        let captured = Captured::default();
        let sink = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .event_format(JsonLines)
            .with_writer(move || sink.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            trace_request_line!(warn, &line);
        });
        let text = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf8");
        let traced: serde_json::Value = serde_json::from_str(text.trim_end()).expect("JSON");
        assert_eq!(direct["fields"], traced["fields"]);
        assert_eq!(direct["fields"]["error"], error);
        assert_eq!(direct["fields"]["status"], 502);
        assert_eq!(direct["level"], "WARN");
        assert_eq!(direct["level"], traced["level"]);
        assert_eq!(direct["target"], "fhir_jwt_proxy::proxy");
        assert!(direct["timestamp"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z') && t.len() == 27));

        // Without an extra field there is none; with nothing set up, the caller is told to use tracing.
        let mut plain = String::new();
        let line = RequestLine {
            extra: None,
            ..line
        };
        format_request_line(&mut plain, tracing::Level::INFO, &line, SystemTime::now())
            .expect("format");
        let plain: serde_json::Value = serde_json::from_str(&plain).expect("JSON");
        assert!(plain["fields"].get("error").is_none());
        assert_eq!(plain["level"], "INFO");
        assert!(!write_request_line(tracing::Level::INFO, &line));
    }
}
