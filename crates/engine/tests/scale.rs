//! Bundles far larger than any real one load, in time linear in their size
//! (the benchmark `benches/load.rs` measures it), and decide correctly. Only
//! generous deadlines here, never timings: each case must finish within
//! `DEADLINE`, which catches a hang or a quadratic load, not a slow machine.

use std::fmt::Write;
use std::time::Duration;

use serde_json::json;
use triage_engine::{Bundle, BundleError, Code, PolicyFile};

const DEADLINE: Duration = Duration::from_secs(60);

/// Runs `work` on a thread of the default size and gives its result, or
/// fails the test if it takes longer than `DEADLINE`.
fn within_deadline<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || send.send(work()));
    receive
        .recv_timeout(DEADLINE)
        .expect("no answer within the deadline")
}

/// `n` named conditions, each using the one before it; `first` is the first
/// one's expression. One rule uses the last.
fn chain(n: usize, first: &str) -> Result<Bundle, BundleError> {
    let mut conditions = format!("  c0: {first}\n");
    for i in 1..n {
        writeln!(conditions, "  c{i}: c{} && x != \"b\"", i - 1).unwrap();
    }
    with_conditions(&conditions, &format!("c{}", n - 1))
}

/// A bundle with one field (`x`), the `conditions` given (YAML lines), and
/// a rule whose condition is `when`.
fn with_conditions(conditions: &str, when: &str) -> Result<Bundle, BundleError> {
    with_conditions_and("", conditions, when)
}

/// The same, with `rules` (YAML lines) before the catch-all instead.
fn with_conditions_rules(conditions: &str, rules: &str) -> Result<Bundle, BundleError> {
    let text = with_conditions_text("", conditions, "true");
    let (head, tail) = text.split_once("rules:\n").unwrap();
    let rest = &tail[tail.find("  - id: rest").unwrap()..];
    from_policy(format!("{head}rules:\n{rules}{rest}"))
}

/// The same, after the lines `head`.
fn with_conditions_and(head: &str, conditions: &str, when: &str) -> Result<Bundle, BundleError> {
    from_policy(with_conditions_text(head, conditions, when))
}

/// A bundle of one policy file.
fn from_policy(policy: String) -> Result<Bundle, BundleError> {
    Bundle::from_files(&[
        PolicyFile {
            name: "bundle.yaml".into(),
            text: "name: chain\nversion: '1'\nfiles: [policy.yaml]\n".into(),
        },
        PolicyFile {
            name: "policy.yaml".into(),
            text: policy,
        },
    ])
}

/// The policy file of `with_conditions_and`.
fn with_conditions_text(head: &str, conditions: &str, when: &str) -> String {
    let mut policy = String::from(head);
    policy.push_str(
        "ticket:
  id_field: id
  role_field: role
  fields:
    id: { type: string, required: true }
    role: { type: role, required: true }
    x: { type: string, default: '' }
conditions:
",
    );
    policy.push_str(conditions);
    write!(
        policy,
        "roles:
  agent: {{ title: Agent }}
actions:
  act: {{ title: Act, roles: [agent] }}
outcomes:
  hit: {{ title: Hit, description: The whole chain holds. }}
  miss: {{ title: Miss, description: It does not. }}
rules:
  - id: chain
    when: {when}
    outcome: hit
    action: act
    rationale: Every condition of the chain holds.
  - id: rest
    outcome: miss
    action: act
    rationale: Anything else.
"
    )
    .unwrap();
    policy
}

#[test]
fn a_chain_of_20000_conditions_loads_and_decides() {
    within_deadline(|| {
        let bundle = chain(20_000, "x == \"a\"").unwrap();
        for (x, rule) in [("a", "chain"), ("b", "rest"), ("c", "rest")] {
            let ticket = json!({ "id": "C-1", "role": "agent", "x": x });
            let decision = bundle.decide(&ticket).unwrap();
            assert_eq!(&*decision.rule, rule, "x = {x}");
            assert_eq!(decision, bundle.interpreted().decide(&ticket).unwrap());
        }
        // The guard of the rule reads the one field, through every condition.
        let ticket = json!({ "id": "C-1", "role": "agent", "x": "a" });
        let decision = bundle.decide(&ticket).unwrap();
        assert_eq!(decision.trace[0].reads.0.len(), 1);
    });
}

#[test]
fn a_cycle_through_20000_conditions_is_found_and_named_by_its_ends() {
    let error = within_deadline(|| chain(20_000, "c19999 || x == \"a\"").unwrap_err());
    let [problem] = &error.problems[..] else {
        panic!("{:?}", error.problems)
    };
    assert_eq!(problem.code, Code::Cycle);
    assert_eq!(
        problem.message,
        "conditions refer to each other in a cycle: `c0` → `c19999` → `c19998` → `c19997` → \
         `c19996` → `c19995` → `c19994` → `c19993` → … (19991 more) → `c1` → `c0`"
    );
}

#[test]
fn thousands_of_mistakes_are_reported_with_hints_for_the_first() {
    let mut conditions = String::new();
    for i in 0..3_000 {
        writeln!(conditions, "  c{i}: x == \"a\"").unwrap();
        // A misspelt name in each: `did you mean `c{i}`?` costs a comparison
        // with every one of the 6,000 names.
        writeln!(conditions, "  d{i}: c{i}x || c{i}").unwrap();
    }
    let conditions = std::sync::Arc::new(conditions);
    let load = {
        let conditions = conditions.clone();
        move || with_conditions(&conditions, "d0").unwrap_err().problems
    };
    let problems = within_deadline(load.clone());
    assert_eq!(problems.len(), 3_000);
    assert!(problems.iter().all(|p| p.code == Code::Expression));
    let help = |i: usize| problems[i].help.clone().unwrap();
    assert_eq!(help(0), "did you mean `c0`?");
    // The suggestion budget of one load is spent well before the last.
    assert_eq!(
        help(2_999),
        "conditions may use ticket fields, named sets and named conditions; \
         if `c2999x` is a value, write it in quotes, `\"c2999x\"`"
    );
    // Spent the same way each time.
    let text = |problems: &[triage_engine::Problem]| {
        problems.iter().map(|p| p.to_string()).collect::<Vec<_>>()
    };
    assert_eq!(text(&problems), text(&within_deadline(load)));
}

#[test]
fn a_set_of_50000_members_used_by_5000_conditions_loads_and_decides() {
    // Each condition once held its own copy of the set (15 GB in all).
    let members: Vec<String> = (0..50_000).map(|i| format!("v{i}")).collect();
    let mut conditions = String::new();
    for i in 0..5_000 {
        writeln!(conditions, "  c{i}: x in big && x != \"v{i}\"").unwrap();
    }
    let when = "c0 && c4999 && x.len() > 0";
    let bundle = within_deadline(move || {
        let sets = format!("sets:\n  big: [{}]\n", members.join(", "));
        with_conditions_and(&sets, &conditions, when).unwrap()
    });
    for (x, rule) in [("v49999", "chain"), ("v0", "rest"), ("w", "rest")] {
        let ticket = json!({ "id": "C-1", "role": "agent", "x": x });
        let decision = bundle.decide(&ticket).unwrap();
        assert_eq!(&*decision.rule, rule, "x = {x}");
        assert_eq!(decision, bundle.interpreted().decide(&ticket).unwrap());
    }
}

#[test]
fn a_guard_with_many_conditions_evaluates_them_in_the_same_order_as_one_with_few() {
    // Each chain holds one condition that fails at run time: the rejection
    // names it whether the guard lists its conditions (a short chain) or
    // finds them when it is evaluated (a long one).
    for (n, failing) in [(10, 7), (1_000, 637)] {
        let mut conditions = String::from("  c0: x == \"a\"\n");
        for i in 1..n {
            let extra = if i == failing { " && x - 1 == 0" } else { "" };
            writeln!(conditions, "  c{i}: c{} && x != \"b\"{extra}", i - 1).unwrap();
        }
        // Many rules, each using the end of the chain.
        let when = format!("c{} && x != \"c\"", n - 1);
        let bundle = with_conditions(&conditions, &when).unwrap();
        let ticket = json!({ "id": "C-1", "role": "agent", "x": "a" });
        let rejection = bundle.decide(&ticket).unwrap_err();
        let triage_engine::RejectionKind::Evaluation(error) = &rejection.error else {
            panic!("{rejection:?}")
        };
        assert_eq!(&*error.id, format!("c{failing}"), "n = {n}");
        assert_eq!(rejection, bundle.interpreted().decide(&ticket).unwrap_err());
    }
}

#[test]
fn thousands_of_guards_on_a_long_chain_load() {
    // 20,000 conditions and 2,000 rules, each on a condition deep in the
    // chain: listing each rule's conditions would make 30 million entries.
    let mut conditions = String::from("  c0: x == \"a\"\n");
    for i in 1..20_000 {
        writeln!(conditions, "  c{i}: c{} && x != \"b\"", i - 1).unwrap();
    }
    let bundle = within_deadline(move || {
        let mut rules = String::new();
        for i in 0..2_000 {
            let when = format!("c{} && x == \"z{i}\"", 19_999 - i);
            let then = "outcome: hit, action: act, rationale: R.";
            writeln!(rules, "  - {{ id: r{i}, when: '{when}', {then} }}").unwrap();
        }
        with_conditions_rules(&conditions, &rules).unwrap()
    });
    let ticket = json!({ "id": "C-1", "role": "agent", "x": "a" });
    assert_eq!(&*bundle.decide(&ticket).unwrap().rule, "rest");
}

#[test]
fn a_guard_reads_every_field_of_its_conditions_however_many() {
    // Each condition of the chain reads a field of its own: past 64, a
    // guard's reads are found by a walk rather than from remembered ones.
    for n in [10, 100] {
        let fields: String = (0..n)
            .map(|i| format!("    f{i}: {{ type: string, default: a }}\n"))
            .collect();
        let mut conditions = String::from("  c0: f0 == \"a\"\n");
        for i in 1..n {
            writeln!(conditions, "  c{i}: c{} && f{i} == \"a\"", i - 1).unwrap();
        }
        conditions.push_str("  unused: f0 == \"b\"\n");
        let text = with_conditions_text("", &conditions, &format!("c{}", n - 1))
            .replace("    x: { type: string, default: '' }\n", &fields);
        let bundle = from_policy(text).unwrap();
        let ticket = json!({ "id": "C-1", "role": "agent" });
        let decision = bundle.decide(&ticket).unwrap();
        assert_eq!(&*decision.rule, "chain");
        let mut expected: Vec<String> = (0..n).map(|i| format!("f{i}")).collect();
        expected.sort();
        let read: Vec<String> = decision.trace[0]
            .reads
            .0
            .iter()
            .map(|(p, _)| p.to_string())
            .collect();
        assert_eq!(read, expected, "n = {n}");
        let warnings: Vec<String> = bundle
            .warnings()
            .iter()
            .map(|w| w.message.clone())
            .collect();
        assert_eq!(
            warnings,
            ["condition `unused` is declared but never used"],
            "n = {n}"
        );
    }
}
