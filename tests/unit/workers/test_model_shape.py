import json

import pytest

from workers.model_shape import ModelShape

QWEN2_0_5B = {
    "hidden_size": 896,
    "intermediate_size": 4864,
    "num_hidden_layers": 24,
    "num_attention_heads": 14,
    "num_key_value_heads": 2,
    "vocab_size": 151936,
    "tie_word_embeddings": True,
}


def test_a_model_config_without_the_shape_fields_is_refused_naming_one():
    with pytest.raises(ValueError, match="no hidden_size"):
        ModelShape.from_config({"model_type": "bert"})


def test_a_token_caches_a_key_and_a_value_per_layer_and_kv_head():
    shape = ModelShape.from_config(QWEN2_0_5B)
    assert shape.head_dim == 64
    # 24 layers x (key + value) x 2 kv heads x 64 dims x 2 bytes (bf16): Qwen2.5-0.5B's 12 KiB.
    assert shape.kv_bytes_per_token(2) == 12 * 1024
    assert shape.kv_bytes_per_token(4) == 2 * shape.kv_bytes_per_token(2)


def test_a_model_directory_gives_the_shape_of_its_config(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(QWEN2_0_5B))
    assert ModelShape.of_model_dir(tmp_path) == ModelShape.from_config(QWEN2_0_5B)
