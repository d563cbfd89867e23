//! A dotted field path (`customer.admin_relationship`): how the schema names
//! a field and how a ticket nests it, one object per segment. Every walk of a
//! ticket by field path goes through here.

use serde_json::{Map, Value};

/// A field's dotted path, borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldPath<'a>(&'a str);

impl<'a> FieldPath<'a> {
    /// The path as written, `.` between segments.
    pub fn new(path: &'a str) -> Self {
        FieldPath(path)
    }

    /// The segments, outermost first.
    pub fn segments(self) -> impl Iterator<Item = &'a str> {
        self.0.split('.')
    }

    /// The innermost segment: the field's own name.
    pub fn name(self) -> &'a str {
        self.0.rsplit('.').next().unwrap_or(self.0)
    }

    /// The value at this path in `ticket`, if every object on the way is there.
    pub fn get(self, ticket: &Value) -> Option<&Value> {
        self.segments()
            .try_fold(ticket, |value, segment| value.get(segment))
    }

    /// The value at this path in `ticket`, to change it in place.
    pub fn get_mut(self, ticket: &mut Value) -> Option<&mut Value> {
        let mut node = ticket;
        for segment in self.segments() {
            node = node.as_object_mut()?.get_mut(segment)?;
        }
        Some(node)
    }

    /// Puts `value` at this path, creating the objects on the way; does
    /// nothing where something on the way is not an object.
    pub fn set(self, ticket: &mut Map<String, Value>, value: Value) {
        if let Some(parent) = self.parent(ticket) {
            parent.insert(self.name().to_owned(), value);
        }
    }

    /// The object that holds this field, created (with the objects on the
    /// way) where missing; `None` where something on the way is not an object.
    pub fn parent(self, ticket: &mut Map<String, Value>) -> Option<&mut Map<String, Value>> {
        let mut map = ticket;
        let segments: Vec<&str> = self.segments().collect();
        let (_, parents) = segments.split_last()?;
        for segment in parents {
            let child = map
                .entry((*segment).to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(inner) = child else {
                return None;
            };
            map = inner;
        }
        Some(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_path_walks_nested_objects() {
        let mut ticket = Map::new();
        let path = FieldPath::new("customer.segment.size");
        path.set(&mut ticket, json!(3));
        let mut ticket = Value::Object(ticket);
        assert_eq!(ticket, json!({"customer": {"segment": {"size": 3}}}));
        assert_eq!(path.get(&ticket), Some(&json!(3)));
        assert_eq!(path.name(), "size");
        *path.get_mut(&mut ticket).unwrap() = json!(4);
        assert_eq!(
            FieldPath::new("customer.segment").get(&ticket),
            Some(&json!({"size": 4}))
        );
        assert_eq!(FieldPath::new("customer.none").get(&ticket), None);
    }

    #[test]
    fn set_leaves_a_non_object_on_the_way_alone() {
        let mut ticket = Map::new();
        ticket.insert("id".into(), json!("T-1"));
        FieldPath::new("id.inner").set(&mut ticket, json!(1));
        assert_eq!(Value::Object(ticket), json!({"id": "T-1"}));
    }
}
