//! The workbench in a real browser: `triage workbench` on a draft that
//! changes a rule, with the reference pack as the base; and `triage serve`
//! with a decision log for the auditors' page. The tests read what a person
//! sees once the page's scripts ran, and save a screenshot of each page into
//! `target/screenshots/`; with `TRIAGE_UPDATE_SCREENSHOTS=1` also into
//! `docs/workbench/` (shown by `docs/workbench.md`), so a test run leaves
//! the tree clean.

use std::path::Path;
use std::process::{Command, Stdio};

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::browser_support::{Browser, PATIENCE};
use crate::common::{arg, cli, pack_edited, policies_dir};
use crate::serve_support::{Process, Server, announced, eventually, replace, request};

/// The draft's change: the marketplace rule leaves `how_to` questions to
/// the rules after it; the version says so.
const DRAFT: &[(&str, &str, &str)] = &[
    ("bundle.yaml", "version: 2026.11.0", "version: 2026.12.0"),
    (
        "boundaries.yaml",
        "when: technical && service == \"marketplace\"",
        "when: technical && service == \"marketplace\" && issue.type != \"how_to\"",
    ),
];

/// The two worked examples the form is filled with.
const EXAMPLES: [&str; 2] = ["premier-critical.json", "billing-question.json"];

/// Checks that the page shows no value the script failed to render, and
/// saves a screenshot of it as `target/screenshots/NAME.png` (and
/// `docs/workbench/NAME.png` when `TRIAGE_UPDATE_SCREENSHOTS=1`).
fn seen(browser: &Browser, name: &str) {
    let text = browser.text("main");
    for broken in ["undefined", "[object", "NaN"] {
        assert!(!text.contains(broken), "`{broken}` on the page: {text}");
    }
    assert!(
        !text.lines().any(|l| l.trim() == "null"),
        "`null` on the page: {text}"
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let file = format!("{name}.png");
    let taken = root.join("target/screenshots").join(&file);
    browser.screenshot(&taken);
    if std::env::var_os("TRIAGE_UPDATE_SCREENSHOTS").is_some_and(|v| v == "1") {
        let docs = root.join("docs/workbench").join(&file);
        std::fs::copy(&taken, &docs).unwrap();
    }
}

/// `triage workbench ARGS…` run in `dir`, killed when dropped.
fn start_workbench(dir: &Path, args: &[&str]) -> Process {
    let mut child = Command::new(env!("CARGO_BIN_EXE_triage"))
        .current_dir(dir)
        .arg("workbench")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let addr = announced(&mut child, "workbench on http://");
    Process { child, addr }
}

/// The reference pack's suites, copied into the bundle `dir`.
fn suites_into(dir: &Path) {
    let from = policies_dir().join("tests");
    std::fs::create_dir(dir.join("tests")).unwrap();
    for suite in std::fs::read_dir(from).unwrap() {
        let suite = suite.unwrap().path();
        std::fs::copy(&suite, dir.join("tests").join(suite.file_name().unwrap())).unwrap();
    }
}

/// Every leaf of a ticket (a list is a leaf), by its dotted path.
fn leaves(value: &Value, prefix: &str, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                let path = match prefix {
                    "" => key.clone(),
                    _ => format!("{prefix}.{key}"),
                };
                leaves(inner, &path, out);
            }
        }
        leaf => out.push((prefix.to_owned(), leaf.clone())),
    }
}

/// Fills the form with `ticket` the way a person does: choosing options,
/// ticking boxes, flipping switches and typing.
fn fill(browser: &Browser, ticket: &Value) {
    let mut fields = Vec::new();
    leaves(ticket, "", &mut fields);
    for (path, value) in fields {
        let control = format!("[data-path=\"{path}\"]");
        match (browser.tag(&control).as_str(), &value) {
            ("select", Value::String(v)) => {
                browser.click(&format!("{control} option[value=\"{v}\"]"));
            }
            (_, Value::Array(items)) => {
                for item in items {
                    let item = item.as_str().unwrap();
                    tick(browser, &format!("{control} input[value=\"{item}\"]"), true);
                }
            }
            (_, Value::Bool(on)) => tick(browser, &control, *on),
            (_, Value::String(text)) => browser.type_into(&control, text),
            (_, other) => browser.type_into(&control, &other.to_string()),
        }
    }
}

/// Clicks the checkbox `css` until it is ticked as `on` says. A click lands
/// where the box was when WebDriver found it; the problems shown beside
/// other fields as the form fills can move it in between, and the click
/// then misses (seen once in a few runs on a loaded machine).
fn tick(browser: &Browser, css: &str, on: bool) {
    for _ in 0..10 {
        if browser.ticked(css) == on {
            return;
        }
        browser.click(css);
    }
    assert_eq!(browser.ticked(css), on, "`{css}` would not tick");
}

/// What `triage eval` decides for an example ticket with the bundle in `dir`.
fn evaluated(dir: &Path, example: &Path) -> Value {
    let (code, out, err) = cli(&[
        "eval",
        "--policies",
        arg(dir),
        arg(example),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

/// What `triage plan BASE HEAD` computes.
fn planned(base: &Path, head: &Path) -> Value {
    let (code, plan, err) = cli(&["plan", arg(base), arg(head), "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&plan).unwrap()
}

/// `outcome` or `outcome via vehicle`, with ids as the page shows them.
fn shows(verdict: &str, decided: &Value) -> bool {
    let outcome = decided["outcome"].as_str().unwrap();
    let vehicle_shown = match decided["vehicle"].as_str() {
        Some(vehicle) => verdict.contains(&format!("({vehicle})")) || verdict.contains(vehicle),
        None => !verdict.contains(" via "),
    };
    verdict.contains(outcome) && vehicle_shown
}

#[test]
fn the_workbench_command_tries_tickets_shows_the_policy_and_reviews_a_change() {
    let Some(browser) = Browser::start() else {
        return;
    };
    // The draft and the base side by side, named as an author names them.
    let work = tempfile::tempdir().unwrap();
    let (draft, base) = (work.path().join("draft"), work.path().join("main"));
    pack_edited(&draft, DRAFT);
    pack_edited(&base, &[]);
    for dir in [&draft, &base] {
        suites_into(dir);
    }
    // Tickets to count: the plan's first witness, which changes, and one that does not.
    let plan = planned(&base, &draft);
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/tickets");
    let unchanged: Value =
        serde_json::from_slice(&std::fs::read(examples.join(EXAMPLES[0])).unwrap()).unwrap();
    let tickets = crate::common::jsonl(&[plan["changes"][0]["witness"].clone(), unchanged]);
    std::fs::write(work.path().join("tickets.jsonl"), tickets).unwrap();
    let args = ["draft", "--base", "main", "--tickets", "tickets.jsonl"];
    let workbench = start_workbench(work.path(), &args);
    let url = format!("http://{}", workbench.addr);

    for (i, name) in EXAMPLES.iter().enumerate() {
        let file = examples.join(name);
        let ticket: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let decided = evaluated(&draft, &file);
        browser.open(&format!("{url}/try"));
        browser.wait_text("#decision", "the empty form", |t| {
            t.contains("Fill in the ticket")
        });
        fill(&browser, &ticket);
        let verdict = browser.wait_text("#verdict", "the decision of the filled form", |t| {
            shows(t, &decided)
        });
        assert!(shows(&verdict, &decided), "{verdict} for {decided}");
        let rule = decided["rule"].as_str().unwrap();
        let why = browser.text("#decided-by");
        assert!(
            why.contains(rule) && why.contains("boundaries.yaml:"),
            "{why}"
        );
        let roles = browser.text("#roles");
        for role in decided["allowed_roles"].as_array().unwrap() {
            assert!(roles.contains(role.as_str().unwrap()), "{roles}");
        }
        // The address holds the ticket: opened again, it shows the same.
        let link = browser.url();
        assert!(link.contains("/try?ticket="), "{link}");
        if i == 0 {
            seen(&browser, "try");
        }
        browser.open(&link);
        browser.wait_text("#verdict", "the decision of the link", |t| {
            shows(t, &decided)
        });
    }

    // An invalid value is shown next to its field.
    browser.type_into("[data-path=\"customer.id\"]", "");
    let problem = browser.wait_text(
        "[data-problem=\"customer.id\"]",
        "the problem beside the field",
        |t| !t.is_empty(),
    );
    assert!(problem.contains("required field is missing"), "{problem}");
    assert_eq!(
        browser
            .attribute("[data-path=\"customer.id\"]", "aria-invalid")
            .as_deref(),
        Some("true")
    );

    another_bundle(&browser, &work.path().join("bells"));
    keyboard(&browser, &url);
    policy_page(&browser, &url);
    review_page(&browser, &url, &plan);

    // A saved draft shows in the open page.
    let manifest = std::fs::read_to_string(draft.join("bundle.yaml")).unwrap();
    let saved = manifest.replace("version: 2026.12.0", "version: 2026.12.1");
    replace(&draft, "bundle.yaml", &saved);
    browser.wait_text("#policy-name", "the saved draft", |t| {
        t.ends_with("2026.12.1")
    });
    // A save that does not load is shown, with its problem, above the page.
    let broken = saved.replace("version: 2026.12.1", "version: 2026.12.2\nmistake: yes");
    replace(&draft, "bundle.yaml", &broken);
    let banner = browser.wait_text("#reload-error", "the failed save", |t| !t.is_empty());
    assert!(
        banner.contains("does not load")
            && banner.contains("Still serving csp-support-triage 2026.12.1"),
        "{banner}"
    );
    assert!(
        banner.contains("bundle.yaml:"),
        "the problem is located: {banner}"
    );
    seen(&browser, "reload-error");
    let errors = browser.console_errors();
    assert!(errors.is_empty(), "{errors:?}");
}

/// A bundle that shares no name with the reference pack: an integer, a
/// switch and a list, for a form that can only come from its schema.
const OTHER: &str = "ticket:
  id_field: ref
  role_field: who
  fields:
    ref: { type: string, required: true }
    who: { type: role, required: true }
    floor: { type: integer, default: 1 }
    loud: { type: bool, default: false }
    zones: { type: list, values: [north, south], default: [] }
roles:
  keeper: { title: Keeper }
actions:
  ring: { title: Ring the bell, roles: [keeper] }
outcomes:
  alarm: { title: Raise the alarm, description: Someone rings the bell. }
  calm: { title: Stay calm, description: Nobody rings it. }
rules:
  - id: high_and_loud
    when: loud && floor >= 3 && \"south\" in zones
    outcome: alarm
    action: ring
    rationale: A loud noise high up in the south.
  - id: otherwise
    outcome: calm
    action: ring
    rationale: Nothing to worry about.
";

/// The form of another bundle: a number typed, a switch flipped and a box
/// ticked decide by that bundle's first rule. Forty rules keyed on `ref`
/// come before it, so the bundle is indexed and the explanation counts the
/// rules the index left out.
fn another_bundle(browser: &Browser, dir: &Path) {
    std::fs::create_dir(dir).unwrap();
    let manifest = "name: bells\nversion: '1'\nfiles: [policy.yaml]\n";
    std::fs::write(dir.join("bundle.yaml"), manifest).unwrap();
    let keyed: String = (0..40)
        .map(|i| {
            format!(
                "  - id: visitor_{i:02}\n    when: ref == \"V-{i}\"\n    outcome: calm\n    action: ring\n    rationale: A known visitor.\n"
            )
        })
        .collect();
    let policy = OTHER.replacen("rules:\n", &format!("rules:\n{keyed}"), 1);
    std::fs::write(dir.join("policy.yaml"), policy).unwrap();
    let workbench = start_workbench(dir, &["."]);
    browser.open(&format!("http://{}/try", workbench.addr));
    browser.type_into("[data-path=\"ref\"]", "B-1");
    browser.click("[data-path=\"who\"] option[value=\"keeper\"]");
    let calm = browser.wait_text("#verdict", "the catch-all", |t| t.contains("calm"));
    assert!(calm.contains("Stay calm"), "{calm}");
    assert_eq!(browser.tag("[data-path=\"floor\"]"), "input");
    assert_eq!(
        browser
            .attribute("[data-path=\"floor\"]", "type")
            .as_deref(),
        Some("number")
    );
    browser.type_into("[data-path=\"floor\"]", "4");
    browser.click("[data-path=\"loud\"]");
    browser.click("[data-path=\"zones\"] input[value=\"south\"]");
    let alarm = browser.wait_text("#verdict", "the first rule", |t| t.contains("alarm"));
    assert!(alarm.contains("Raise the alarm"), "{alarm}");
    let why = browser.text("#decided-by");
    assert!(
        why.contains("high_and_loud") && why.contains("policy.yaml:"),
        "{why}"
    );
    let before = browser.text(".before");
    assert!(
        before.contains("40 rules left out by the index (visitor_00 to visitor_39)")
            && before.contains("40 on ref do not apply to \"B-1\""),
        "{before}"
    );
}

/// The keyboard alone reaches the skip link, the pages and the form, and
/// fills the form: a select changed with the arrow keys decides anew.
fn keyboard(browser: &Browser, url: &str) {
    const TAB: &str = "\u{e004}";
    browser.open(&format!("{url}/try"));
    browser.wait_text("#decision", "the empty form", |t| {
        t.contains("Fill in the ticket")
    });
    // Tab moves the focus to what a person expects next.
    let tab_to = |tabs: usize, expected: &str| {
        browser.press(&TAB.repeat(tabs));
        let focused = browser.focused();
        assert!(focused.contains(expected), "{expected}: {focused}");
    };
    tab_to(1, "Skip to the page");
    tab_to(1, "a  Try a ticket");
    tab_to(4, "input id");
    browser.press("T-42");
    tab_to(1, "input opened_at");
    tab_to(1, "select service");
    // The arrow keys choose a value: the ticket then lacks other required
    // fields, which the page says beside each of them.
    browser.press("\u{e015}");
    let problem = browser.wait_text(
        "[data-problem=\"category\"]",
        "the problem of a field not filled",
        |t| !t.is_empty(),
    );
    assert!(problem.contains("required field is missing"), "{problem}");
    assert!(browser.url().contains("T-42"), "{}", browser.url());
}

/// The policy page: the rules in order, the decision table, the coverage.
fn policy_page(browser: &Browser, url: &str) {
    browser.open(&format!("{url}/policy"));
    let rules = browser.wait_text("#rules", "the rules", |t| !t.is_empty());
    let (_, table, _) = cli(&["table", arg(&policies_dir()), "--format", "json"]);
    let table: Value = serde_json::from_str(&table).unwrap();
    let first = table["rows"][0]["rule"].as_str().unwrap();
    assert!(rules.contains(first), "{rules}");
    let shown = browser.wait_text("#decision-table", "the decision table", |t| {
        t.contains(first)
    });
    assert!(shown.contains("try it"), "witnesses open in the try page");
    let summary = browser.wait_text("#suite-summary", "the suites' results", |t| {
        t.contains("passed")
    });
    assert!(summary.contains(" 0 failed"), "{summary}");
    seen(browser, "policy");
    browser.scroll_to("#decision-table");
    seen(browser, "policy-table");
}

/// The review page: the draft's plan against the base, and a witness
/// followed into the try page, where it is decided as the plan says.
fn review_page(browser: &Browser, url: &str, plan: &Value) {
    let changes = plan["changes"].as_array().unwrap();
    assert!(!changes.is_empty());
    browser.open(&format!("{url}/review"));
    let summary = browser.wait_text("#plan-summary", "the plan", |t| !t.is_empty());
    assert!(
        summary.contains("From 2026.11.0 to 2026.12.0")
            && summary.contains(&format!("{} classes", changes.len())),
        "{summary}"
    );
    let counted = browser.text("#ticket-counts");
    assert!(
        counted.contains("Of 2 tickets from tickets.jsonl, 1 decide differently"),
        "{counted}"
    );
    browser.wait_text("#suite-summary", "the suites' results", |t| {
        t.contains("passed")
    });
    seen(browser, "review");
    browser.click("#changes a.witness");
    let after = &changes[0]["after"];
    browser.wait_text("#verdict", "the witness decided", |t| shows(t, after));
    assert!(browser.url().contains("/try?ticket="));
}

#[test]
fn auditors_search_the_decision_log_and_open_a_record() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("decisions.jsonl");
    let token = dir.path().join("token");
    std::fs::write(&token, "s3cret\n").unwrap();
    let args = ["--decision-log", arg(&log), "--token-file", arg(&token)];
    let server = Process::start(&policies_dir(), &args);
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/tickets");
    let bearer = [("authorization", "Bearer s3cret")];
    for name in EXAMPLES {
        let body = std::fs::read(examples.join(name)).unwrap();
        let answer = request(server.addr, "POST", "/v1/decisions", &bearer, &body);
        assert_eq!(answer.status, 200, "{}", answer.text());
    }
    let url = format!("http://{}", server.addr);
    let billing = examples.join(EXAMPLES[1]);
    let decided = evaluated(&policies_dir(), &billing);
    let id = decided["ticket_id"].as_str().unwrap();

    // The page asks for the service's token, once for the tab.
    browser.open(&format!("{url}/decisions"));
    browser.wait_text("main h1", "the token asked for", |t| {
        t.contains("needs its token")
    });
    browser.type_into("#token", "s3cret");
    browser.press("\u{e007}");
    browser.type_into("#s-ticket_id", id);
    browser.click("#search button[type=submit]");
    let found = browser.wait_text("#found-summary", "the search", |t| t.starts_with("1 of 2"));
    assert!(found.contains("records match"), "{found}");
    let rows = browser.text("#records tbody");
    assert!(rows.contains(id) && shows(&rows, &decided), "{rows}");
    assert!(browser.url().contains(&format!("ticket_id={id}")));
    seen(&browser, "decisions");

    browser.click("#records tbody a");
    let chain = browser.wait_text("#chain", "the chain check", |t| !t.is_empty());
    assert!(chain.contains("verifies up to this record"), "{chain}");
    let replay = browser.text("#replay");
    assert!(replay.contains("the same decision"), "{replay}");
    let shown = browser.text("#record-decision");
    assert!(shows(&shown, &decided), "{shown}");
    let ticket = browser.text("#ticket");
    assert!(ticket.contains(id), "{ticket}");
    seen(&browser, "record");
    // The one refusal the browser logs is the first, which asked for the token.
    let errors = browser.console_errors();
    let unexpected: Vec<&String> = errors
        .iter()
        .filter(|e| !e.contains("/v1/workbench/catalog") || !e.contains("401"))
        .collect();
    assert!(unexpected.is_empty(), "{errors:?}");
    assert_eq!(errors.len(), 1, "{errors:?}");
    drop(server);
}

#[test]
fn the_pages_are_open_their_data_needs_the_token_and_tried_tickets_are_not_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("decisions.jsonl");
    let mut config = triage_service::serve::Config::new(policies_dir());
    config.watch = false;
    config.token = Some("s3cret".to_owned());
    let opened = triage_audit::DecisionLog::open(&log, triage_audit::LogOptions::default());
    config.log = Some(Arc::new(Mutex::new(opened.unwrap())));
    let server = Server::start(config);
    let bearer = [("authorization", "Bearer s3cret")];
    let get = |path: &str| request(server.addr, "GET", path, &bearer, b"");

    let page = server.get("/try");
    assert_eq!(page.status, 200);
    assert!(page.text().contains("src=\"/workbench.js\""));
    let script = server.get("/workbench.js");
    assert_eq!(script.status, 200);
    let policy = script.header("content-security-policy").unwrap();
    assert!(policy.contains("default-src 'self'"), "{policy}");

    assert_eq!(server.get("/v1/workbench/catalog").status, 401);
    let catalog = get("/v1/workbench/catalog").json();
    assert_eq!(catalog["decision_log"], true);
    assert!(
        !catalog["catalog"]["ticket"]["fields"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let ticket = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/tickets")
            .join(EXAMPLES[0]),
    )
    .unwrap();
    let tried = request(
        server.addr,
        "POST",
        "/v1/workbench/decide",
        &bearer,
        &ticket,
    );
    let expected = crate::common::reference()
        .decide(&serde_json::from_slice(&ticket).unwrap())
        .unwrap();
    assert_eq!(tried.json()["decision"]["outcome"], *expected.outcome);
    let invalid = request(
        server.addr,
        "POST",
        "/v1/workbench/decide",
        &bearer,
        b"{\"id\": 5}",
    );
    assert_eq!(
        invalid.json()["rejection"]["error"]["kind"],
        "invalid_ticket"
    );
    let twice = br#"{"id": "a", "id": "b"}"#;
    let twice = request(server.addr, "POST", "/v1/workbench/decide", &bearer, twice);
    assert_eq!(
        twice.status,
        400,
        "a key given twice is refused: {}",
        twice.text()
    );
    let searched = get("/v1/workbench/decisions").json();
    assert_eq!(
        searched["total"], 0,
        "a tried ticket is not a decision: {searched}"
    );

    // Decided for real, the ticket is found by its id, rule and time.
    let decided = request(server.addr, "POST", "/v1/decisions", &bearer, &ticket);
    assert_eq!(decided.status, 200);
    let search =
        |query: &str| get(&format!("/v1/workbench/decisions?{query}")).json()["found"].clone();
    let (id, rule) = (&*expected.ticket_id, &*expected.rule);
    assert_eq!(search(&format!("ticket_id={id}&rule={rule}")), 1);
    assert_eq!(search("ticket_id=nobody"), 0);
    assert_eq!(search("from=2000-01-01&to=9999"), 1);
    assert_eq!(search("to=2000-01-01"), 0);
    assert_eq!(search("from=9999"), 0);
    let record = get("/v1/workbench/decisions/1").json();
    assert_eq!(record["chain"]["verified_to_here"], true, "{record}");
    assert_eq!(record["replay"]["identical"], true, "{record}");

    let plan = get("/v1/workbench/plan?base=dir").json();
    assert!(
        plan["error"].as_str().unwrap().contains("--base DIR"),
        "{plan}"
    );
    let plan = get("/v1/workbench/plan?base=start").json();
    assert_eq!(
        plan["plan"]["changes"],
        json!([]),
        "the bundle is the one loaded at start"
    );
}

#[test]
fn the_workbench_command_listens_on_loopback_only_and_reloads_on_save() {
    let (code, _, err) = cli(&["workbench", arg(&policies_dir()), "--listen", "0.0.0.0:0"]);
    assert_eq!(code, 1);
    assert!(err.contains("loopback only"), "{err}");

    let work = tempfile::tempdir().unwrap();
    pack_edited(&work.path().join("draft"), &[]);
    let workbench = start_workbench(work.path(), &["draft"]);
    let addr = workbench.addr;
    let version = || {
        let catalog = request(addr, "GET", "/v1/workbench/catalog", &[], b"").json();
        catalog["catalog"]["policy"]["version"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(version(), "2026.11.0");
    let manifest = work.path().join("draft/bundle.yaml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    replace(
        &work.path().join("draft"),
        "bundle.yaml",
        &text.replace("version: 2026.11.0", "version: 2026.11.1"),
    );
    eventually(PATIENCE, "the saved draft served", || {
        version() == "2026.11.1"
    });
}
