"""Engagement setup: a closed-won opportunity becomes an approved, active engagement, or an exception.

One module per use case: `start` (a closed-won notice starts the workflow once per close), `setup`
(the workflow's task steps, `steps`, run from a table; `compensation` when one fails), `approvals`
(the approval routes and the reminder). `state` is what the workflow carries between steps, and
`terms` the pure decisions of what a won deal becomes (legal entity, systems, dimensions, rate card,
milestones, billing terms), made from the deal and the landscape alone.
"""
