"""The audit log of learners' personal data: who read or changed what, when and why (issue 10)."""
