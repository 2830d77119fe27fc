"""Which API fits which work: SLA cadence, workflow matching, cost estimates and the checks
that explain them (DESIGN.md sections 1 and 2). Pure logic: no click, no environment."""
