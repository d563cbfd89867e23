//! The service's counters and their Prometheus text exposition. The text is
//! small, so it is written by hand; every label value comes from a decision,
//! a route or a bundle at run time.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use triage_engine::{Decision, Rejection, RejectionKind};

use triage_engine::PolicyRef;

/// Upper bounds of the decision-latency buckets, in seconds. A typical
/// decision takes 1 to 3 µs, hence the fine low end.
const BUCKETS: [f64; 14] = [
    0.000_001,
    0.000_002_5,
    0.000_005,
    0.000_01,
    0.000_025,
    0.000_05,
    0.000_1,
    0.000_25,
    0.000_5,
    0.001,
    0.002_5,
    0.005,
    0.01,
    0.1,
];

/// A decision's outcome and vehicle: the key decisions are counted by.
type OutcomeVehicle = (Arc<str>, Option<Arc<str>>);

#[derive(Default)]
pub(crate) struct Metrics {
    decisions: Mutex<HashMap<OutcomeVehicle, u64>>,
    input_errors: AtomicU64,
    evaluation_errors: Mutex<HashMap<Arc<str>, u64>>,
    latency: Histogram,
    http: Mutex<HashMap<(String, u16), u64>>,
    pub(crate) in_flight: AtomicI64,
    reloads: Mutex<HashMap<&'static str, u64>>,
    /// Bundles refused for want of a valid approval, by reason.
    refusals: Mutex<HashMap<&'static str, u64>>,
}

#[derive(Default)]
struct Histogram {
    counts: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

impl Metrics {
    pub(crate) fn decided(&self, result: &Result<Decision, Rejection>, took: Duration) {
        match result {
            Ok(decision) => {
                self.decided_as(&decision.outcome, decision.vehicle.as_ref(), took);
            }
            Err(rejection) => {
                self.latency.observe(took);
                self.rejected(rejection);
            }
        }
    }

    /// Counts a decision by its outcome and vehicle.
    pub(crate) fn decided_as(
        &self,
        outcome: &Arc<str>,
        vehicle: Option<&Arc<str>>,
        took: Duration,
    ) {
        self.latency.observe(took);
        let key = (outcome.clone(), vehicle.cloned());
        if let Ok(mut map) = self.decisions.lock() {
            *map.entry(key).or_default() += 1;
        }
    }

    pub(crate) fn rejected(&self, rejection: &Rejection) {
        match &rejection.error {
            RejectionKind::InvalidTicket { .. } => {
                self.input_errors.fetch_add(1, Ordering::Relaxed);
            }
            RejectionKind::Evaluation(error) => {
                let rule = error.rule.clone().unwrap_or_else(|| error.id.clone());
                if let Ok(mut map) = self.evaluation_errors.lock() {
                    *map.entry(rule).or_default() += 1;
                }
            }
        }
    }

    pub(crate) fn request(&self, route: String, status: u16) {
        if let Ok(mut map) = self.http.lock() {
            *map.entry((route, status)).or_default() += 1;
        }
    }

    pub(crate) fn reloaded(&self, result: &'static str) {
        if let Ok(mut map) = self.reloads.lock() {
            *map.entry(result).or_default() += 1;
        }
    }

    pub(crate) fn refused(&self, reason: &'static str) {
        if let Ok(mut map) = self.refusals.lock() {
            *map.entry(reason).or_default() += 1;
        }
    }

    /// The Prometheus text exposition of every counter, in a fixed order.
    /// `serving`: the bundle serving decisions, and whether it decides in
    /// place (on the request's thread).
    pub(crate) fn render(&self, serving: Option<(&PolicyRef, bool)>) -> String {
        let mut s = String::with_capacity(4096);
        self.render_decisions(&mut s);
        self.latency.render(&mut s);
        self.render_http(&mut s);
        self.render_reloads(&mut s);
        render_policy(&mut s, serving);
        s
    }

    /// Decisions by outcome and vehicle, input errors, evaluation errors by rule.
    fn render_decisions(&self, s: &mut String) {
        header(
            s,
            "triage_decisions_total",
            "counter",
            "Decisions made, by outcome and vehicle.",
        );
        if let Ok(map) = self.decisions.lock() {
            for ((outcome, vehicle), n) in sorted(&map) {
                let vehicle = vehicle.as_deref().unwrap_or("none");
                let _ = writeln!(
                    s,
                    "triage_decisions_total{{outcome=\"{}\",vehicle=\"{}\"}} {n}",
                    escape(outcome),
                    escape(vehicle)
                );
            }
        }
        header(
            s,
            "triage_input_errors_total",
            "counter",
            "Tickets rejected as invalid.",
        );
        let _ = writeln!(
            s,
            "triage_input_errors_total {}",
            self.input_errors.load(Ordering::Relaxed)
        );
        header(
            s,
            "triage_evaluation_errors_total",
            "counter",
            "Tickets a rule failed on, by rule.",
        );
        if let Ok(map) = self.evaluation_errors.lock() {
            for (rule, n) in sorted(&map) {
                let _ = writeln!(
                    s,
                    "triage_evaluation_errors_total{{rule=\"{}\"}} {n}",
                    escape(rule)
                );
            }
        }
    }

    /// Requests by route and status, and those in flight.
    fn render_http(&self, s: &mut String) {
        header(
            s,
            "triage_http_requests_total",
            "counter",
            "HTTP requests, by route and status.",
        );
        if let Ok(map) = self.http.lock() {
            for ((route, status), n) in sorted(&map) {
                let _ = writeln!(
                    s,
                    "triage_http_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                    escape(route)
                );
            }
        }
        header(
            s,
            "triage_http_requests_in_flight",
            "gauge",
            "HTTP requests being served.",
        );
        let _ = writeln!(
            s,
            "triage_http_requests_in_flight {}",
            self.in_flight.load(Ordering::Relaxed)
        );
    }

    /// Reloads by result; both results always shown, zero or not.
    fn render_reloads(&self, s: &mut String) {
        header(
            s,
            "triage_policy_reloads_total",
            "counter",
            "Policy reloads, by result.",
        );
        if let Ok(map) = self.reloads.lock() {
            for result in ["success", "failure"] {
                let n = map.get(result).copied().unwrap_or(0);
                let _ = writeln!(s, "triage_policy_reloads_total{{result=\"{result}\"}} {n}");
            }
        }
        header(
            s,
            "triage_approval_refusals_total",
            "counter",
            "Bundles refused for want of a valid approval, by reason (a failure each).",
        );
        if let Ok(map) = self.refusals.lock() {
            for (reason, n) in sorted(&map) {
                let _ = writeln!(
                    s,
                    "triage_approval_refusals_total{{reason=\"{reason}\"}} {n}"
                );
            }
        }
    }
}

/// The bundle serving decisions, if one is loaded, and where it decides.
fn render_policy(s: &mut String, serving: Option<(&PolicyRef, bool)>) {
    header(
        s,
        "triage_policy_info",
        "gauge",
        "The policy bundle serving decisions.",
    );
    if let Some((p, _)) = serving {
        let _ = writeln!(
            s,
            "triage_policy_info{{name=\"{}\",version=\"{}\",digest=\"{}\"}} 1",
            escape(&p.name),
            escape(&p.version),
            escape(&p.digest)
        );
    }
    let name = "triage_policy_decides_in_place";
    let help = "1 when the serving bundle decides on the request's own thread (every expression native, few enough), 0 when on decision threads.";
    header(s, name, "gauge", help);
    if let Some((_, in_place)) = serving {
        let _ = writeln!(s, "{name} {}", u8::from(in_place));
    }
}

impl Histogram {
    fn observe(&self, took: Duration) {
        let secs = took.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            self.counts[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    fn render(&self, s: &mut String) {
        let name = "triage_decision_duration_seconds";
        header(s, name, "histogram", "Time to decide one ticket.");
        let mut cumulative = 0;
        for (bound, count) in BUCKETS.iter().zip(&self.counts) {
            cumulative += count.load(Ordering::Relaxed);
            let _ = writeln!(s, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(s, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(s, "{name}_sum {sum}");
        let _ = writeln!(s, "{name}_count {count}");
    }
}

fn header(s: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// Map entries in a stable order, so scrapes diff cleanly.
fn sorted<K: Ord, V: Copy>(map: &HashMap<K, V>) -> Vec<(&K, V)> {
    let mut entries: Vec<(&K, V)> = map.iter().map(|(k, v)| (k, *v)).collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

/// A label value as the text format wants it.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn histogram_is_cumulative() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(3));
        h.observe(Duration::from_millis(3));
        let mut s = String::new();
        h.render(&mut s);
        assert!(s.contains("triage_decision_duration_seconds_bucket{le=\"0.000005\"} 1\n"));
        assert!(s.contains("triage_decision_duration_seconds_bucket{le=\"0.005\"} 2\n"));
        assert!(s.contains("triage_decision_duration_seconds_count 2\n"));
    }
}
