//! The JSON report: one document per invocation, schema [`super::REPORT_SCHEMA`].

use super::SuiteReport;

/// Renders the report as pretty-printed JSON with a trailing newline.
pub fn render(report: &SuiteReport) -> String {
    let mut out =
        serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    out.push('\n');
    out
}
