import json

from workers.backends.vllm_backend import KV_BLOCK_ROUNDING, cpu_kv_cache_bytes

TINY = {
    "hidden_size": 192,
    "intermediate_size": 512,
    "num_hidden_layers": 2,
    "num_attention_heads": 6,
    "num_key_value_heads": 2,
    "vocab_size": 1024,
}


def test_the_cache_holds_every_sequence_at_its_longest_with_a_block_of_rounding(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(TINY))
    per_token_bf16 = 2 * 2 * 2 * 32 * 2  # layers x (k, v) x kv heads x head dim x bytes
    assert cpu_kv_cache_bytes(str(tmp_path), "bfloat16", 40, 512) == 40 * (512 + KV_BLOCK_ROUNDING) * per_token_bf16
    assert cpu_kv_cache_bytes(str(tmp_path), "float32", 40, 512) == 2 * cpu_kv_cache_bytes(str(tmp_path), "bfloat16", 40, 512)
