module gotrace_df/bench/workload

go 1.22
