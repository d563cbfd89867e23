//! Ticket validation beyond the shape: the schema's cross-field constraint.

use serde_json::json;

use crate::common::{reference, ticket, with};

#[test]
fn an_issue_type_of_the_other_category_is_invalid_input_naming_both_fields() {
    let rejection = reference()
        .decide(&with(ticket(), &[("issue.type", json!("pricing"))]))
        .unwrap_err();
    let text = rejection.to_string();
    assert!(rejection.is_invalid_ticket(), "{text}");
    assert_eq!(
        text,
        "invalid ticket:\n  issue.type: issue type `pricing` does not belong to category `technical`; \
         expected an issue type of category `technical`, found \"pricing\""
    );
}
