"""The simulator server's command line and environment, and reading its load (the actor itself
runs against real vLLM in tests/integration/test_served_simulator_on_ray.py)."""

from workers.simulator_server import IN_FLIGHT, PREFIX_CACHE, ServeSettings, metric_totals, server_command, server_env


def settings(**changes) -> ServeSettings:
    base = dict(
        model="/models/sim",
        served_name="tiny",
        dtype="float32",
        max_model_len=1024,
        tensor_parallel_size=1,
        gpu_memory_utilization=0.8,
        num_cpus=2,
        cpu_kv_cache_gb=1.5,
        seed=7,
        startup_timeout_s=60,
    )
    return ServeSettings(**{**base, **changes})


def test_a_cpu_server_runs_eagerly_without_chunked_prefill_on_its_threads():
    command = server_command(settings(), "10.0.0.2", 8123)
    assert command[1:3] == ["-m", "vllm.entrypoints.openai.api_server"]
    joined = " ".join(command)
    assert "--served-model-name tiny --host 10.0.0.2 --port 8123" in joined
    assert "--dtype float32 --max-model-len 1024 --seed 7" in joined
    assert "--enforce-eager" in command and "--no-enable-chunked-prefill" in command
    assert "--gpu-memory-utilization" not in command
    assert f"--kv-cache-memory-bytes {int(1.5 * 1024**3)}" in joined
    env = server_env(settings(), {"PATH": "/bin", "VLLM_CPU_KVCACHE_SPACE": "4"})
    assert "VLLM_CPU_KVCACHE_SPACE" not in env and env["OMP_NUM_THREADS"] == "2" and env["PATH"] == "/bin"


def test_a_gpu_server_shards_over_its_gpus_and_keeps_the_hub():
    command = server_command(settings(num_gpus=4, tensor_parallel_size=4, dtype="auto"), "h", 1)
    joined = " ".join(command)
    assert "--dtype bfloat16" in joined and "--tensor-parallel-size 4" in joined and "--gpu-memory-utilization 0.8" in joined
    assert "--enforce-eager" not in command and "--kv-cache-memory-bytes" not in command
    env = server_env(settings(num_gpus=1, model="Qwen/Qwen2.5-72B-Instruct"), {})
    assert "HF_HUB_OFFLINE" not in env and "VLLM_CPU_KVCACHE_SPACE" not in env


def test_a_model_directory_is_served_offline(tmp_path):
    assert server_env(settings(model=str(tmp_path)), {})["HF_HUB_OFFLINE"] == "1"


def test_load_and_prefix_cache_counters_are_read_from_the_prometheus_page():
    page = "\n".join(
        [
            "# HELP vllm:num_requests_running Number of requests in model execution batches.",
            'vllm:num_requests_running{engine="0",model_name="tiny"} 3.0',
            'vllm:num_requests_waiting{engine="0",model_name="tiny"} 2.0',
            'vllm:num_requests_swapped{engine="0",model_name="tiny"} 9.0',
            'vllm:prefix_cache_queries_total{engine="0",model_name="tiny"} 1200.0',
            'vllm:prefix_cache_queries_created{engine="0",model_name="tiny"} 1.7e9',
            'vllm:prefix_cache_hits_total{engine="0",model_name="tiny"} 800.0',
            'vllm:prefix_cache_hits_total{engine="1",model_name="tiny"} 16.0',
        ]
    )
    assert sum(metric_totals(page, IN_FLIGHT).values()) == 5
    assert metric_totals(page, PREFIX_CACHE) == {PREFIX_CACHE[0]: 1200.0, PREFIX_CACHE[1]: 816.0}
    assert metric_totals("", IN_FLIGHT) == dict.fromkeys(IN_FLIGHT, 0.0)
