# harness server (stands in for the benchmark harness; never shown to the agent)
