"""diagnose-revenue: the origin checklist answered by the system itself (facts, probe, checks, verdict)."""
