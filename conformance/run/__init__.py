"""Layer 7, running: one check bounded in time, the plan and scheduling of a checklist session, what each path
costs, the stability check. May import every layer below it, never ``report``."""
