// Package dag owns the dependency graph of a runbook's steps: building it,
// rejecting cycles, ordering it, measuring its critical path, drawing it and
// walking it concurrently during apply.
//
// Vertices are step addresses ("step.<name>"). An edge is added with
// Connect(dependent, dependency, subject): the dependent may start only after
// the dependency has succeeded. This is Terraform's internal/dag convention
// (Connect(BasicEdge(dependent, dependency))), and like Terraform the package
// reports every cycle by name, and its walker skips the dependents of a
// failed vertex without calling the skip an error.
//
// Unlike Terraform's dag, which is generic over any hashable vertex, this
// graph knows its vertices are strings. That buys determinism everywhere the
// user can see it: ties are always broken by address, cycles are always
// printed starting from their smallest address, and DOT output is stable.
//
// Every algorithm here is iterative (no recursion), so a chain of tens of
// thousands of steps cannot overflow the stack, and runs in O(V+E) apart from
// the address ordering (a sort, and a heap of ready vertices: O(V log V)).
//
// A Graph is not safe for concurrent mutation. Once built it may be read
// (including by Walk) from several goroutines at once.
package dag
