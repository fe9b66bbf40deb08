"""Mutation testing of the rule modules: the plan, the runner and the equivalent mutants."""
