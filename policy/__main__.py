"""The guardrails policy pack: every rule of rules/catalog.py as a mandatory policy.

Run with `pulumi preview --policy-pack policy` (docs/ci.md: "Policy pack").
"""

from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy
from rules.catalog import RULES


def validation(rule):
    def validate(args, report_violation):
        for message in rule(args.name, args.resource_type, args.props):
            report_violation(message)
    return validate


PolicyPack(
    name="whatsapp-miner-guardrails",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[ResourceValidationPolicy(name=name, description=description, validate=validation(rule))
              for name, (rule, description) in RULES.items()],
)
