//! Ids and texts: every id a policy declares follows one pattern (a
//! lowercase letter, then lowercase letters, digits and `_`, at most 64
//! characters), and no name, title, description or rationale holds a
//! character that hides what it says. Each is refused at its place, an id
//! with the id it could be.

use triage_engine::{BundleError, Code, Problem};

use crate::common::{edited, reference};

/// The problems of the reference pack with one edit; it must not load.
fn refused(file: &str, from: &str, to: &str) -> Vec<Problem> {
    edited(file, from, to)
        .map(|_| ())
        .expect_err(&format!("{file}: `{to}` must be refused"))
        .problems
}

/// The one problem of `code` among `problems`, checked to be at `file:line:col`.
fn at<'p>(problems: &'p [Problem], code: Code, place: &str) -> &'p Problem {
    let found: Vec<&Problem> = problems.iter().filter(|p| p.code == code).collect();
    let [problem] = found[..] else {
        panic!("expected one `{code}` problem: {problems:#?}")
    };
    assert_eq!(problem.location.as_ref().unwrap().to_string(), place);
    problem
}

#[test]
fn the_reference_pack_follows_the_id_pattern() {
    let catalog = serde_json::to_value(reference().catalog()).unwrap();
    let mut ids = Vec::new();
    collect_ids(&catalog, &mut ids);
    assert!(ids.len() > 50, "{ids:?}");
    for id in ids {
        let ok = id.len() <= 64
            && id.starts_with(|c: char| c.is_ascii_lowercase())
            && id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        assert!(ok, "`{id}`");
    }
}

/// Every `id` (and each segment of every field `path`) in the catalog.
fn collect_ids(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value.as_str()) {
                    ("id", Some(id)) => out.push(id.to_owned()),
                    ("path", Some(path)) => out.extend(path.split('.').map(str::to_owned)),
                    _ => collect_ids(value, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_ids(v, out)),
        _ => {}
    }
}

#[test]
fn a_bad_id_of_each_kind_is_refused_at_its_place_with_a_suggestion() {
    for (file, from, to, place, message, suggestion) in [
        (
            "boundaries.yaml",
            "id: marketplace_publisher",
            "id: Marketplace-Publisher",
            "boundaries.yaml:9:9",
            "`Marketplace-Publisher` is not a valid rule id",
            "marketplace_publisher",
        ),
        (
            "roles.yaml",
            "  sales_agent: {",
            "  Sales Agent: {",
            "roles.yaml:10:3",
            "`Sales Agent` is not a valid role id",
            "sales_agent",
        ),
        (
            "roles.yaml",
            "  contact_provider:",
            "  1st_contact:",
            "roles.yaml:29:3",
            "`1st_contact` is not a valid action id",
            "action_1st_contact",
        ),
        (
            "outcomes.yaml",
            "  no_eligible_vehicle:",
            "  noEligibleVehicle:",
            "outcomes.yaml:33:3",
            "`noEligibleVehicle` is not a valid outcome id",
            "noeligiblevehicle",
        ),
        (
            "vehicles.yaml",
            "  signature_cloud_support:",
            "  signature_cloud_support_for_partners_who_hold_a_gold_or_silver_competency:",
            "vehicles.yaml:20:3",
            "vehicle id `signature_cloud_support_for_partners_who_hold_a_gold_or_silver_c…` is longer than 64 characters",
            "signature_cloud_support_for_partners_who_hold_a_gold_or_silver_c",
        ),
        (
            "paths.yaml",
            "      - id: premier_for_critical",
            "      - id: premier.critical",
            "paths.yaml:27:13",
            "`premier.critical` is not a valid step id",
            "premier_critical",
        ),
        (
            "ticket.yaml",
            "  commercial_handoff: [",
            "  _commercial_handoff: [",
            "ticket.yaml:8:3",
            "`_commercial_handoff` is not a valid set id",
            "set__commercial_handoff",
        ),
        (
            "ticket.yaml",
            "- id: issue_type_matches_category",
            "- id: issue-type-matches-category",
            "ticket.yaml:51:11",
            "`issue-type-matches-category` is not a valid constraint id",
            "issue_type_matches_category",
        ),
        (
            "ticket.yaml",
            "    opened_at:",
            "    opened_At:",
            "ticket.yaml:15:5",
            "`opened_At` is not a valid field id",
            "opened_at",
        ),
    ] {
        let problems = refused(file, from, to);
        let problem = at(&problems, Code::BadId, place);
        assert_eq!(problem.message, message, "{to}");
        let help = problem.help.as_ref().unwrap();
        assert!(help.ends_with(&format!(": `{suggestion}`")), "{to}: {help}");
        assert!(help.starts_with("an id is a lowercase letter"), "{help}");
    }
}

#[test]
fn a_field_path_is_at_most_eight_segments_deep() {
    let problems = refused("ticket.yaml", "    opened_at:", "    a.b.c.d.e.f.g.h.i:");
    let problem = at(&problems, Code::BadId, "ticket.yaml:15:5");
    assert_eq!(
        problem.message,
        "field `a.b.c.d.e.f.g.h.i` has more than 8 segments"
    );
}

#[test]
fn a_hidden_character_in_a_file_is_refused_where_it_is() {
    // A right-to-left override inside a rationale: the rest of the line
    // would show reversed.
    let problems = refused(
        "boundaries.yaml",
        "rationale: Service health",
        "rationale: Service\u{202E} health",
    );
    let problem = at(&problems, Code::BadText, "boundaries.yaml:19:23");
    assert_eq!(
        problem.message,
        "the file holds U+202E (a bidirectional control)"
    );
    assert!(problem.help.as_ref().unwrap().contains("remove it"));
    // A zero-width space in an id, and a control character in a condition.
    for (file, from, to, place) in [
        (
            "roles.yaml",
            "  sales_agent:",
            "  sales\u{200B}agent:",
            "roles.yaml:10:8",
        ),
        (
            "paths.yaml",
            "critical: issue.severity",
            "critical: issue.\u{7}severity",
            "paths.yaml:5:19",
        ),
        (
            "bundle.yaml",
            "name: csp-support-triage",
            "name: csp-support\u{2066}-triage",
            "bundle.yaml:5:18",
        ),
    ] {
        at(&refused(file, from, to), Code::BadText, place);
    }
}

#[test]
fn a_hidden_character_written_as_an_escape_is_refused_at_its_declaration() {
    for (file, from, to, place, message) in [
        (
            "roles.yaml",
            "{ title: Sales agent }",
            "{ title: \"Sales\\u202Eagent\" }",
            "roles.yaml:10:3",
            "the title of role `sales_agent` holds U+202E (a bidirectional control)",
        ),
        (
            "outcomes.yaml",
            "title: Escalate to Microsoft",
            "title: \"Escalate to Microsoft\\u200B\"",
            "outcomes.yaml:29:3",
            "the title of outcome `escalate` holds U+200B (a zero-width character)",
        ),
        (
            "boundaries.yaml",
            "rationale: Service health shows a known advisory or incident for this service; the partner tracks Microsoft's updates and files nothing.",
            "rationale: \"Service\\a health\"",
            "boundaries.yaml:15:9",
            "the rationale of rule `known_service_incident` holds U+0007 (a control character)",
        ),
        (
            "ticket.yaml",
            "[how_to,",
            "[\"how\\u2028to\",",
            "ticket.yaml:5:24",
            "a member of set `technical_baseline` holds U+2028 (a line separator)",
        ),
        (
            "ticket.yaml",
            "expected: \"an issue",
            "expected: \"an \\u2067issue",
            "ticket.yaml:56:17",
            "the constraint text holds U+2067 (a bidirectional control)",
        ),
    ] {
        let problems = refused(file, from, to);
        let problem = at(&problems, Code::BadText, place);
        assert_eq!(problem.message, message, "{to}");
    }
}

#[test]
fn a_hidden_character_is_never_written_out_in_a_message() {
    // An unknown reference names what it was given, escaped.
    let error: BundleError = edited(
        "boundaries.yaml",
        "outcome: contact_publisher",
        "outcome: \"contact\\e[31m\"",
    )
    .unwrap_err();
    let problem = error
        .problems
        .iter()
        .find(|p| p.code == Code::UnknownReference)
        .unwrap();
    assert_eq!(problem.message, "unknown outcome `contact\\u{1b}[31m`");
}

#[test]
fn a_condition_or_set_cannot_be_named_by_a_keyword() {
    let problems = refused(
        "paths.yaml",
        "  critical: issue.severity == \"A\"",
        "  critical: issue.severity == \"A\"\n  switch: critical",
    );
    let problem = at(&problems, Code::BadId, "paths.yaml:6:3");
    assert_eq!(
        problem.message,
        "`switch` is a keyword of the expression language"
    );
    assert!(
        problem
            .help
            .as_ref()
            .unwrap()
            .ends_with("`switch_condition`")
    );
}

#[test]
fn a_path_cannot_be_both_a_field_and_a_group() {
    for (from, to, place) in [
        // A field, then a group under the same name.
        (
            "    opened_at: { type: timestamp }",
            "    opened_at: { type: timestamp }\n    opened_at.day: { type: string }",
            "ticket.yaml:16:5",
        ),
        // A field, then (later in the file) a group of its name.
        (
            "    opened_at: { type: timestamp }",
            "    opened_at: { type: timestamp }\n    issue: { type: string }",
            "ticket.yaml:22:5",
        ),
    ] {
        let problems = refused("ticket.yaml", from, to);
        let problem = at(&problems, Code::BadSchema, place);
        assert!(
            problem
                .message
                .ends_with("is declared both as a field and as a group of fields"),
            "{}",
            problem.message
        );
    }
}
