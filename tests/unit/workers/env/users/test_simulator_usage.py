from workers.env.users.simulator_usage import EXTERNAL, SimulatorUsage


def test_usage_is_counted_per_server_and_in_total():
    usage = SimulatorUsage()
    usage.record("server_0", 0.1, 10, 2)
    usage.record("server_1", 0.3, 20, 4, switched=True)
    other = SimulatorUsage()
    other.record("server_0", 0.2, None, None, switched=True)
    total = SimulatorUsage.total([usage, other])
    overall = total.overall
    assert (overall.requests, overall.prompt_tokens, overall.completion_tokens, overall.unreported) == (3, 30, 6, 1)
    metrics = total.metrics(["server_0", "server_1", "server_2"])
    assert metrics["simulator/requests"] == 3 and metrics["simulator/latency_p50_s"] == 0.2
    assert metrics["simulator/server_0/requests"] == 2 and metrics["simulator/server_0/usage_unreported"] == 1
    assert metrics["simulator/server_1/prompt_tokens"] == 20 and metrics["simulator/server_1/latency_p95_s"] == 0.3
    assert metrics["simulator/server_2/requests"] == 0 and metrics["simulator/server_2/latency_p50_s"] == 0
    assert metrics["simulator/switched_requests"] == 2


def test_an_endpoint_of_the_users_shows_in_the_totals_only():
    usage = SimulatorUsage()
    usage.record(EXTERNAL, 0.5, 7, 1)
    metrics = usage.metrics()
    assert metrics["simulator/requests"] == 1 and not any(k.count("/") > 1 for k in metrics)
    assert "simulator/switched_requests" not in metrics  # one endpoint: nothing to switch between
