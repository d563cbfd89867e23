//! The reference pack's decision written by hand: the practical lower bound
//! for the engine, allowed to name the domain because it is not the engine.
//! It reads a typed ticket (serde, unknown fields refused, the issue type
//! checked against the category), decides by the same first-match rules and
//! path steps, keeps its trace as two indices, and writes the same JSON
//! bytes as the engine's decision, trace included. `benches/decide.rs`
//! checks that on generated tickets before it measures anything.
#![allow(dead_code, reason = "each includer uses part of it")]

use serde::ser::{SerializeMap, SerializeSeq, SerializeStruct};
use serde::{Deserialize, Serialize, Serializer};

macro_rules! names {
    ($name:ident { $($variant:ident = $text:literal),* $(,)? }) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
        pub enum $name { $(#[serde(rename = $text)] $variant),* }
        impl $name {
            fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }
        }
    };
}

names!(Service { Azure = "azure", Office365 = "office365", Dynamics365 = "dynamics365", Marketplace = "marketplace" });
names!(Category { Technical = "technical", Commercial = "commercial" });
names!(IssueType {
    HowTo = "how_to", Configuration = "configuration", PasswordReset = "password_reset",
    UserManagement = "user_management", LicenseAssignment = "license_assignment",
    ServiceUnavailable = "service_unavailable", ProductBug = "product_bug",
    UndocumentedBehavior = "undocumented_behavior", NetworkDisruption = "network_disruption",
    RegionalOutage = "regional_outage", BillingQuestion = "billing_question",
    SubscriptionChange = "subscription_change", InvoiceDispute = "invoice_dispute",
    Pricing = "pricing", ProvisioningFailure = "provisioning_failure",
});
names!(Severity { A = "A", B = "B", C = "C" });
names!(Relationship { Gdap = "gdap", Dap = "dap", None = "none" });
names!(Program { DirectBill = "direct_bill", IndirectProvider = "indirect_provider", IndirectReseller = "indirect_reseller" });
names!(Competency { Gold = "gold", Silver = "silver", None = "none" });
names!(Plan { Premier = "premier", Advanced = "advanced" });
names!(Role {
    GlobalAdmin = "global_admin", UserManagementAdmin = "user_management_admin",
    HelpdeskAgent = "helpdesk_agent", AdminAgent = "admin_agent",
    BillingAdmin = "billing_admin", SalesAgent = "sales_agent",
});
names!(Health { Healthy = "healthy", Advisory = "advisory", Incident = "incident", Restored = "restored" });

/// A ticket of the reference pack; `None` where the ticket left a defaulted field out.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ticket {
    pub id: String,
    pub opened_at: Option<String>,
    pub service: Service,
    pub category: Category,
    pub issue: Issue,
    pub customer: Customer,
    #[serde(default)]
    pub partner: Partner,
    pub requester: Requester,
    pub diagnosed: Option<bool>,
    #[serde(default)]
    pub service_health: ServiceHealth,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Issue {
    #[serde(rename = "type")]
    pub kind: IssueType,
    pub severity: Option<Severity>,
    pub summary: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Customer {
    pub id: String,
    pub admin_relationship: Relationship,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Partner {
    pub id: Option<String>,
    pub program: Option<Program>,
    pub competency: Option<Competency>,
    pub support_plans: Option<Vec<Plan>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requester {
    pub role: Role,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceHealth {
    pub status: Option<Health>,
}

impl Ticket {
    /// The ticket, if it is one the pack accepts.
    pub fn read(line: &str) -> Option<Ticket> {
        serde_json::from_str::<Ticket>(line)
            .ok()
            .filter(Ticket::consistent)
    }

    /// The same from a parsed `Value`.
    pub fn from_value(value: &serde_json::Value) -> Option<Ticket> {
        Ticket::deserialize(value).ok().filter(Ticket::consistent)
    }

    fn consistent(&self) -> bool {
        use IssueType::*;
        let technical = (self.issue.kind as u8) <= RegionalOutage as u8;
        technical == (self.category == Category::Technical)
    }

    fn severity(&self) -> Severity {
        self.issue.severity.unwrap_or(Severity::C)
    }
    fn program(&self) -> Program {
        self.partner.program.unwrap_or(Program::DirectBill)
    }
    fn competency(&self) -> Competency {
        self.partner.competency.unwrap_or(Competency::None)
    }
    fn plans(&self) -> &[Plan] {
        self.partner.support_plans.as_deref().unwrap_or_default()
    }
    fn diagnosed(&self) -> bool {
        self.diagnosed.unwrap_or(false)
    }
    fn health(&self) -> Health {
        self.service_health.status.unwrap_or(Health::Healthy)
    }
}

/// A ticket field a condition reads, in the engine's (sorted) order.
#[derive(Clone, Copy)]
enum Field {
    Category,
    RelationshipF,
    Diagnosed,
    IssueSeverity,
    IssueType,
    Competency,
    Program,
    Plans,
    ServiceF,
    Health,
}

impl Field {
    fn path(self) -> &'static str {
        match self {
            Field::Category => "category",
            Field::RelationshipF => "customer.admin_relationship",
            Field::Diagnosed => "diagnosed",
            Field::IssueSeverity => "issue.severity",
            Field::IssueType => "issue.type",
            Field::Competency => "partner.competency",
            Field::Program => "partner.program",
            Field::Plans => "partner.support_plans",
            Field::ServiceF => "service",
            Field::Health => "service_health.status",
        }
    }

    fn defaulted(self, t: &Ticket) -> bool {
        match self {
            Field::Diagnosed => t.diagnosed.is_none(),
            Field::IssueSeverity => t.issue.severity.is_none(),
            Field::Competency => t.partner.competency.is_none(),
            Field::Program => t.partner.program.is_none(),
            Field::Plans => t.partner.support_plans.is_none(),
            Field::Health => t.service_health.status.is_none(),
            _ => false,
        }
    }
}

/// A rule or step as its trace entry needs it: the fields it reads, the
/// named conditions it uses, and the operands of its top-level `&&`.
struct Guard {
    id: &'static str,
    reads: &'static [Field],
    conditions: &'static [Cond],
    parts: &'static [&'static str],
}

#[derive(Clone, Copy)]
enum Cond {
    Technical,
    Commercial,
    Critical,
    HasPremier,
    HasAdvanced,
    SignatureEligible,
}

impl Cond {
    fn name(self) -> &'static str {
        match self {
            Cond::Technical => "technical",
            Cond::Commercial => "commercial",
            Cond::Critical => "critical",
            Cond::HasPremier => "has_premier",
            Cond::HasAdvanced => "has_advanced",
            Cond::SignatureEligible => "signature_eligible",
        }
    }

    fn holds(self, t: &Ticket) -> bool {
        match self {
            Cond::Technical => t.category == Category::Technical,
            Cond::Commercial => t.category == Category::Commercial,
            Cond::Critical => t.severity() == Severity::A,
            Cond::HasPremier => t.plans().contains(&Plan::Premier),
            Cond::HasAdvanced => t.plans().contains(&Plan::Advanced),
            Cond::SignatureEligible => {
                matches!(t.competency(), Competency::Gold | Competency::Silver)
                    && t.service != Service::Dynamics365
            }
        }
    }
}

use Cond as C;
use Field as F;

const RULES: [Guard; 9] = [
    Guard {
        id: "marketplace_publisher",
        reads: &[F::Category, F::ServiceF],
        conditions: &[C::Technical],
        parts: &["technical", "service == \"marketplace\""],
    },
    Guard {
        id: "known_service_incident",
        reads: &[F::Category, F::Health],
        conditions: &[C::Technical],
        parts: &[
            "technical",
            "service_health.status in [\"advisory\", \"incident\"]",
        ],
    },
    Guard {
        id: "no_admin_relationship",
        reads: &[F::Category, F::RelationshipF],
        conditions: &[C::Technical],
        parts: &["technical", "customer.admin_relationship == \"none\""],
    },
    Guard {
        id: "technical_baseline",
        reads: &[F::Category, F::IssueType],
        conditions: &[C::Technical],
        parts: &["technical", "issue.type in technical_baseline"],
    },
    Guard {
        id: "commercial_baseline",
        reads: &[F::Category, F::IssueType],
        conditions: &[C::Commercial],
        parts: &["commercial", "issue.type in commercial_baseline"],
    },
    Guard {
        id: "not_yet_diagnosed",
        reads: &[F::Diagnosed],
        conditions: &[],
        parts: &[],
    },
    Guard {
        id: "azure_indirect_reseller",
        reads: &[F::Category, F::Program, F::ServiceF],
        conditions: &[C::Technical],
        parts: &[
            "technical",
            "service == \"azure\"",
            "partner.program == \"indirect_reseller\"",
        ],
    },
    Guard {
        id: "commercial_escalation",
        reads: &[F::Category],
        conditions: &[C::Commercial],
        parts: &[],
    },
    Guard {
        id: "technical_escalation",
        reads: &[],
        conditions: &[],
        parts: &[],
    },
];

const TECHNICAL_STEPS: [Guard; 5] = [
    Guard {
        id: "premier_for_critical",
        reads: &[F::IssueSeverity, F::Plans],
        conditions: &[C::Critical, C::HasPremier],
        parts: &["critical", "has_premier"],
    },
    Guard {
        id: "advanced_for_critical",
        reads: &[F::IssueSeverity, F::Plans],
        conditions: &[C::Critical, C::HasAdvanced],
        parts: &["critical", "has_advanced"],
    },
    Guard {
        id: "signature",
        reads: &[F::Competency, F::ServiceF],
        conditions: &[C::SignatureEligible],
        parts: &[],
    },
    Guard {
        id: "advanced",
        reads: &[F::Plans],
        conditions: &[C::HasAdvanced],
        parts: &[],
    },
    Guard {
        id: "premier",
        reads: &[F::Plans],
        conditions: &[C::HasPremier],
        parts: &[],
    },
];
const COMMERCIAL_STEPS: [Guard; 1] = [Guard {
    id: "commercial_support",
    reads: &[],
    conditions: &[],
    parts: &[],
}];

/// The operands of each rule's `&&`, in order (a lone condition is one).
fn rule_parts(rule: usize, t: &Ticket) -> [bool; 3] {
    let technical = t.category == Category::Technical;
    let commercial = !technical;
    let baseline = (t.issue.kind as u8) <= IssueType::LicenseAssignment as u8;
    let commercial_baseline = matches!(
        t.issue.kind,
        IssueType::BillingQuestion | IssueType::SubscriptionChange
    );
    match rule {
        0 => [technical, t.service == Service::Marketplace, true],
        1 => [
            technical,
            matches!(t.health(), Health::Advisory | Health::Incident),
            true,
        ],
        2 => [
            technical,
            t.customer.admin_relationship == Relationship::None,
            true,
        ],
        3 => [technical, baseline, true],
        4 => [commercial, commercial_baseline, true],
        5 => [!t.diagnosed(), true, true],
        6 => [
            technical,
            t.service == Service::Azure,
            t.program() == Program::IndirectReseller,
        ],
        7 => [commercial, true, true],
        _ => [true, true, true],
    }
}

fn step_parts(step: usize, t: &Ticket) -> [bool; 2] {
    let critical = t.severity() == Severity::A;
    match step {
        0 => [critical, C::HasPremier.holds(t)],
        1 => [critical, C::HasAdvanced.holds(t)],
        2 => [C::SignatureEligible.holds(t), true],
        3 => [C::HasAdvanced.holds(t), true],
        _ => [C::HasPremier.holds(t), true],
    }
}

/// A decision: the ticket, the deciding rule, and the step that chose the
/// vehicle (`None` for the fallback or a rule without a path). That is the
/// whole trace: every rule before `rule` did not match, and every step
/// before `step` was not eligible.
pub struct Decision<'t> {
    pub ticket: &'t Ticket,
    pub rule: usize,
    pub step: Option<usize>,
}

pub fn decide(t: &Ticket) -> Decision<'_> {
    let rule = (0..RULES.len())
        .find(|&r| rule_parts(r, t).iter().all(|&b| b))
        .unwrap_or(8);
    let step = match rule {
        7 => Some(0),
        6.. => (0..TECHNICAL_STEPS.len()).find(|&s| step_parts(s, t).iter().all(|&b| b)),
        _ => None,
    };
    Decision {
        ticket: t,
        rule,
        step,
    }
}

/// What the bundle says about itself, as decisions write it.
pub struct Policy {
    pub name: String,
    pub version: String,
    pub digest: String,
}

/// A decision ready to be written: the same JSON as the engine's.
pub struct Written<'a> {
    pub decision: Decision<'a>,
    pub policy: &'a Policy,
}

const OUTCOMES: [&str; 9] = [
    "contact_publisher",
    "monitor_incident",
    "relationship_required",
    "partner_resolves",
    "partner_resolves",
    "diagnose_first",
    "route_to_provider",
    "escalate",
    "escalate",
];
const TECHNICAL_ROLES: &[&str] = &[
    "admin_agent",
    "global_admin",
    "helpdesk_agent",
    "user_management_admin",
];
const COMMERCIAL_ROLES: &[&str] = &[
    "billing_admin",
    "global_admin",
    "helpdesk_agent",
    "sales_agent",
    "user_management_admin",
];
const FILING_ROLES: &[&str] = &[
    "admin_agent",
    "global_admin",
    "helpdesk_agent",
    "sales_agent",
];
const RATIONALES: [&str; 9] = [
    "Microsoft does not support third-party marketplace products; the customer contacts the publisher.",
    "Service health shows a known advisory or incident for this service; the partner tracks Microsoft's updates and files nothing.",
    "Without delegated admin rights the partner can neither administer the customer's services nor file a request for it.",
    "The issue lies within the baseline technical support the partner provides itself.",
    "The issue lies within the baseline commercial support the partner provides itself.",
    "The partner diagnoses an issue as well as it can before it escalates it.",
    "Only the indirect provider of an Azure subscription can open Azure support requests.",
    "A diagnosed commercial issue beyond the baseline goes to Microsoft.",
    "A diagnosed technical issue beyond the baseline goes to Microsoft.",
];
const STEP_RATIONALES: [&str; 5] = [
    "A critical issue goes to the strongest contract first, and the partner holds Premier Support for Partners.",
    "A critical issue goes to the strongest contract first, and the partner holds Advanced Support for Partners.",
    "The partner's Gold or Silver competency includes Signature Cloud Support for this service.",
    "The partner holds Advanced Support for Partners.",
    "The partner holds Premier Support for Partners.",
];
const VEHICLES: [&str; 5] = [
    "premier_support_for_partners",
    "advanced_support_for_partners",
    "signature_cloud_support",
    "advanced_support_for_partners",
    "premier_support_for_partners",
];
const FALLBACK: &str = "No support vehicle is open to this partner for this ticket; it resolves the issue on its own or buys a support plan.";

impl Decision<'_> {
    fn fallback(&self) -> bool {
        self.rule == 8 && self.step.is_none()
    }

    fn outcome(&self) -> &'static str {
        if self.fallback() {
            "no_eligible_vehicle"
        } else {
            OUTCOMES[self.rule]
        }
    }

    /// The action and the roles that may take it.
    fn action(&self) -> (&'static str, &'static [&'static str]) {
        let technical = self.ticket.category == Category::Technical;
        match self.rule {
            0 | 3 => ("resolve_technical", TECHNICAL_ROLES),
            1 => ("view_service_incidents", TECHNICAL_ROLES),
            2 => ("request_admin_relationship", &["admin_agent"]),
            4 => ("resolve_commercial", COMMERCIAL_ROLES),
            5 if technical => ("resolve_technical", TECHNICAL_ROLES),
            5 => ("resolve_commercial", COMMERCIAL_ROLES),
            6 => ("contact_provider", FILING_ROLES),
            _ if self.fallback() => ("resolve_technical", TECHNICAL_ROLES),
            _ => ("file_service_request", FILING_ROLES),
        }
    }

    fn vehicle(&self) -> Option<&'static str> {
        match (self.rule, self.step) {
            (7, _) => Some("commercial_support"),
            (8, Some(s)) => Some(VEHICLES[s]),
            _ => None,
        }
    }

    fn step_id(&self) -> Option<&'static str> {
        match (self.rule, self.step) {
            (7, _) => Some(COMMERCIAL_STEPS[0].id),
            (8, Some(s)) => Some(TECHNICAL_STEPS[s].id),
            _ => None,
        }
    }

    fn path(&self) -> Option<&'static str> {
        match self.rule {
            7 => Some("commercial"),
            8 => Some("technical"),
            _ => None,
        }
    }
}

impl Serialize for Written<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = &self.decision;
        let (action, roles) = d.action();
        let mut out = s.serialize_struct("Decision", 12)?;
        out.serialize_field("ticket_id", &d.ticket.id)?;
        out.serialize_field("outcome", d.outcome())?;
        out.serialize_field("vehicle", &d.vehicle())?;
        out.serialize_field("rule", RULES[d.rule].id)?;
        out.serialize_field("path", &d.path())?;
        out.serialize_field("path_step", &d.step_id())?;
        out.serialize_field("action", action)?;
        let role = d.ticket.requester.role.as_str();
        out.serialize_field(
            "requester",
            &RequesterOut {
                role,
                allowed: roles.contains(&role),
            },
        )?;
        out.serialize_field("allowed_roles", roles)?;
        out.serialize_field("rationale", &Rationale(d))?;
        out.serialize_field("policy", &PolicyOut(self.policy))?;
        out.serialize_field("trace", &Trace(d))?;
        out.end()
    }
}

#[derive(Serialize)]
struct RequesterOut {
    role: &'static str,
    allowed: bool,
}

struct Rationale<'a, 't>(&'a Decision<'t>);

impl Serialize for Rationale<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = self.0;
        let mut seq = s.serialize_seq(None)?;
        seq.serialize_element(RATIONALES[d.rule])?;
        match (d.rule, d.step) {
            (7, _) => {
                seq.serialize_element("Commercial issue support is open to every CSP partner.")?
            }
            (8, Some(step)) => seq.serialize_element(STEP_RATIONALES[step])?,
            (8, None) => seq.serialize_element(FALLBACK)?,
            _ => {}
        }
        seq.end()
    }
}

struct PolicyOut<'a>(&'a Policy);

impl Serialize for PolicyOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = s.serialize_struct("PolicyRef", 3)?;
        out.serialize_field("name", &self.0.name)?;
        out.serialize_field("version", &self.0.version)?;
        out.serialize_field("digest", &self.0.digest)?;
        out.end()
    }
}

struct Trace<'a, 't>(&'a Decision<'t>);

/// One entry: which guard, of which path, and how it came out.
struct Step<'a> {
    guard: &'static Guard,
    path: Option<&'static str>,
    held: bool,
    /// The operands of the guard's `&&` as evaluated.
    parts: &'a [bool],
    ticket: &'a Ticket,
}

impl Serialize for Trace<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (d, t) = (self.0, self.0.ticket);
        let mut seq = s.serialize_seq(None)?;
        for (r, guard) in RULES.iter().enumerate().take(d.rule + 1) {
            let parts = rule_parts(r, t);
            let step = Step {
                guard,
                path: None,
                held: r == d.rule,
                parts: &parts,
                ticket: t,
            };
            seq.serialize_element(&step)?;
        }
        let (path, steps): (_, &'static [Guard]) = match d.rule {
            7 => ("commercial", &COMMERCIAL_STEPS),
            8 => ("technical", &TECHNICAL_STEPS),
            _ => return seq.end(),
        };
        let tried = d.step.map_or(steps.len(), |s| s + 1);
        for (i, guard) in steps.iter().enumerate().take(tried) {
            let parts = if d.rule == 7 {
                [true, true]
            } else {
                step_parts(i, t)
            };
            let held = d.step == Some(i);
            seq.serialize_element(&Step {
                guard,
                path: Some(path),
                held,
                parts: &parts,
                ticket: t,
            })?;
        }
        if d.step.is_none() {
            seq.serialize_element(&Fallback(path))?;
        }
        seq.end()
    }
}

impl Serialize for Step<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let kind = if self.path.is_some() {
            "path_step"
        } else {
            "rule"
        };
        let mut out = s.serialize_map(None)?;
        out.serialize_entry("kind", kind)?;
        out.serialize_entry("id", self.guard.id)?;
        if let Some(path) = self.path {
            out.serialize_entry("path", path)?;
        }
        out.serialize_entry("result", if self.held { "matched" } else { "not_matched" })?;
        out.serialize_entry("reads", &Reads(self.guard.reads, self.ticket))?;
        let defaulted: Vec<&str> = (self.guard.reads.iter())
            .filter(|f| f.defaulted(self.ticket))
            .map(|f| f.path())
            .collect();
        if !defaulted.is_empty() {
            out.serialize_entry("defaulted", &defaulted)?;
        }
        if !self.guard.conditions.is_empty() {
            out.serialize_entry(
                "conditions",
                &Conditions(self.guard.conditions, self.ticket),
            )?;
        }
        let first_false = self.parts.iter().position(|&b| !b);
        if let (false, Some(i)) = (self.guard.parts.is_empty(), first_false) {
            out.serialize_entry("decided_by", self.guard.parts[i])?;
        }
        out.end()
    }
}

struct Fallback(&'static str);

impl Serialize for Fallback {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = s.serialize_map(None)?;
        out.serialize_entry("kind", "fallback")?;
        out.serialize_entry("id", "fallback")?;
        out.serialize_entry("path", self.0)?;
        out.serialize_entry("result", "matched")?;
        out.serialize_entry("reads", &std::collections::BTreeMap::<&str, bool>::new())?;
        out.end()
    }
}

struct Reads<'a>(&'static [Field], &'a Ticket);

impl Serialize for Reads<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.1;
        let mut out = s.serialize_map(Some(self.0.len()))?;
        for &field in self.0 {
            let path = field.path();
            match field {
                Field::Category => out.serialize_entry(path, t.category.as_str())?,
                Field::RelationshipF => {
                    out.serialize_entry(path, t.customer.admin_relationship.as_str())?
                }
                Field::Diagnosed => out.serialize_entry(path, &t.diagnosed())?,
                Field::IssueSeverity => out.serialize_entry(path, t.severity().as_str())?,
                Field::IssueType => out.serialize_entry(path, t.issue.kind.as_str())?,
                Field::Competency => out.serialize_entry(path, t.competency().as_str())?,
                Field::Program => out.serialize_entry(path, t.program().as_str())?,
                Field::Plans => out.serialize_entry(path, &Plans(t.plans()))?,
                Field::ServiceF => out.serialize_entry(path, t.service.as_str())?,
                Field::Health => out.serialize_entry(path, t.health().as_str())?,
            }
        }
        out.end()
    }
}

struct Plans<'a>(&'a [Plan]);

impl Serialize for Plans<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|p| p.as_str()))
    }
}

/// The named conditions a guard uses, sorted by name, and whether each held.
struct Conditions<'a>(&'static [Cond], &'a Ticket);

impl Serialize for Conditions<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|c| (c.name(), c.holds(self.1))))
    }
}
