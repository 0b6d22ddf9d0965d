"""Verdicts on training runs that a reader can trust: paired tests with intervals that cover,
Holm's correction over a comparison set declared before the runs, equivalence shown rather than
assumed, and a power planner that says how many seeds a claim needs before anyone runs them."""
