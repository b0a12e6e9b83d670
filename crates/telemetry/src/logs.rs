//! Log lines as JSON, each carrying the trace and span id of the span it was logged in, so a
//! log search leads to the trace and back.

use opentelemetry::trace::TraceContextExt;
use tracing::{Event, Subscriber};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::fmt::format::{Format, Json, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// How log lines look on stderr (`--log-format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// For people at a terminal.
    #[default]
    Text,
    /// One JSON object per line, with `trace_id` and `span_id`.
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            other => Err(format!("unknown log format {other:?}: use text or json")),
        }
    }
}

/// tracing-subscriber's JSON lines plus the OpenTelemetry ids of the current span.
///
/// tracing-subscriber knows nothing of OpenTelemetry ids, and tracing-opentelemetry formats no
/// logs, so the two are joined here: the line from the JSON formatter, with the ids appended.
#[derive(Debug)]
pub struct JsonWithTrace {
    inner: Format<Json>,
}

impl Default for JsonWithTrace {
    fn default() -> Self {
        Self {
            inner: tracing_subscriber::fmt::format()
                .json()
                .with_current_span(true)
                .with_span_list(false),
        }
    }
}

impl<S, N> FormatEvent<S, N> for JsonWithTrace
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> std::fmt::Result {
        // Read before formatting, while no span extensions are borrowed.
        let ids = {
            let cx = tracing::Span::current().context();
            let span = cx.span();
            let sc = span.span_context();
            sc.is_valid()
                .then(|| (sc.trace_id().to_string(), sc.span_id().to_string()))
        };
        let mut line = String::new();
        self.inner.format_event(ctx, Writer::new(&mut line), event)?;
        let body = line.trim_end();
        match (ids, body.strip_suffix('}')) {
            (Some((trace_id, span_id)), Some(open)) => {
                writeln!(writer, "{open},\"trace_id\":\"{trace_id}\",\"span_id\":\"{span_id}\"}}")
            }
            _ => writeln!(writer, "{body}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LogFormat;

    #[test]
    fn formats_parse() {
        for (s, want) in [("text", Ok(LogFormat::Text)), ("JSON", Ok(LogFormat::Json))] {
            assert_eq!(s.parse::<LogFormat>(), want);
        }
        assert!("yaml".parse::<LogFormat>().is_err());
    }
}
