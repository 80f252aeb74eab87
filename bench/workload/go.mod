module gotrace_df/bench/workload

// 1.21: bench/traces.py also runs it with Go 1.21 for an old-format trace.
// No closure captures a loop variable, so 1.22's per-iteration loop
// variables would change nothing.
go 1.21
