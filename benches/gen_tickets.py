#!/usr/bin/env python3
"""Writes N tickets for the reference pack as JSON lines, deterministically
from SEED: `benches/gen_tickets.py N SEED > tickets.jsonl`. For measuring
`triage diff` (see docs/audit.md); values are drawn from the pack's schema,
so some tickets are invalid (an issue type of the other category), as in life."""

import json
import random
import sys

FIELDS = {
    "service": ["azure", "office365", "dynamics365", "marketplace"],
    "category": ["technical", "commercial"],
    "issue.type": [
        "how_to", "configuration", "password_reset", "user_management", "license_assignment",
        "service_unavailable", "product_bug", "undocumented_behavior", "network_disruption",
        "regional_outage", "billing_question", "subscription_change", "invoice_dispute",
        "pricing", "provisioning_failure",
    ],
    "issue.severity": ["A", "B", "C"],
    "customer.admin_relationship": ["gdap", "dap", "none"],
    "partner.program": ["direct_bill", "indirect_provider", "indirect_reseller"],
    "partner.competency": ["gold", "silver", "none"],
    "requester.role": [
        "global_admin", "user_management_admin", "helpdesk_agent", "admin_agent",
        "billing_admin", "sales_agent",
    ],
    "service_health.status": ["healthy", "advisory", "incident", "restored"],
}


def put(ticket, path, value):
    *parents, last = path.split(".")
    for p in parents:
        ticket = ticket.setdefault(p, {})
    ticket[last] = value


def main():
    n, seed = int(sys.argv[1]), int(sys.argv[2])
    rng = random.Random(seed)
    out = sys.stdout
    for i in range(n):
        t = {"id": f"B-{seed}-{i}"}
        for path, values in FIELDS.items():
            put(t, path, rng.choice(values))
        put(t, "customer.id", f"customer-{rng.randrange(5000)}")
        put(t, "partner.support_plans", [p for p in ("premier", "advanced") if rng.random() < 0.4])
        put(t, "issue.summary", f"summary {rng.randrange(1000)}")
        t["diagnosed"] = rng.random() < 0.7
        out.write(json.dumps(t, separators=(",", ":")))
        out.write("\n")


if __name__ == "__main__":
    main()
