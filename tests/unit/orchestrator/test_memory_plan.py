"""`goldilocks plan`'s arithmetic: parameter counts against the real models, and the verdicts on
the shipped recipe."""

import pytest
import torch

from orchestrator.config import default_config_path, load_config
from orchestrator.memory_plan import GB, LearnerSetup, learner_parts, read_shape, verdicts

RECIPE = default_config_path().parent / "rlver-qwen2.5-7b.yaml"


@pytest.mark.slow
def test_the_parameter_count_is_the_models_own(tiny_model):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32)
    unique = {p.data_ptr(): p.numel() for p in model.parameters()}
    assert read_shape(tiny_model).params == sum(unique.values())


@pytest.mark.slow
def test_the_adapter_count_is_pefts(tiny_model):
    from transformers import AutoModelForCausalLM

    from workers.lora_adapter import with_lora
    from workers.lora_config import LoraConfig

    targets = ("q_proj", "v_proj", "down_proj")
    model = with_lora(
        AutoModelForCausalLM.from_pretrained(tiny_model), LoraConfig(rank=8, alpha=16, target_modules=list(targets))
    )
    trained = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert read_shape(tiny_model).lora_params(8, targets) == trained


def test_the_shipped_7b_shape_has_qwen25_7bs_parameter_count():
    assert read_shape("Qwen/Qwen2.5-7B-Instruct").params == pytest.approx(7.62e9, rel=0.002)


def test_sharding_divides_the_states_and_adds_one_gathered_layer():
    shape = read_shape("Qwen/Qwen2.5-7B-Instruct")
    one, four = (LearnerSetup(n, "bf16", True, 4096, 8192, kl_reference=True) for n in (1, 4))
    a, b = learner_parts(shape, one), learner_parts(shape, four)
    for part in ("weights", "gradients", "optimizer", "reference"):
        assert b[part] == pytest.approx(a[part] / 4)
    assert a["gathered_for_compute"] == 0 < b["gathered_for_compute"]
    assert a["activations"] == b["activations"] and a["logits"] == b["logits"]


def test_lora_trains_only_the_adapter_and_keeps_no_reference_copy():
    shape = read_shape("Qwen/Qwen2.5-7B-Instruct")
    targets = ("q_proj", "v_proj")
    parts = learner_parts(shape, LearnerSetup(1, "fp32", False, 4096, 8192, True, 16, targets))
    assert parts["reference"] == 0
    assert parts["optimizer"] == 2 * parts["gradients"] == 8 * shape.lora_params(16, targets) < 0.05 * GB


def test_the_recipe_plans_as_fitting_on_four_80gb_gpus_and_lora_on_one():
    shape = read_shape("Qwen/Qwen2.5-7B-Instruct")
    cfg = load_config(RECIPE)
    assert cfg.resources.learner.num_workers == 4 and cfg.resources.learner.num_gpus == 1
    assert all(v.fits for v in verdicts(cfg, shape, gpu_gb=80, host_gb=64))
    lora = load_config(RECIPE, ["resources.learner.num_workers=1", "policy.lora.rank=64"])
    assert all(v.fits for v in verdicts(lora, shape, gpu_gb=80, host_gb=64))
    alone = verdicts(load_config(RECIPE, ["resources.learner.num_workers=1"]), shape, gpu_gb=80, host_gb=64)
    learner = next(v for v in alone if "learner" in v.actor)
    assert not learner.fits and "3 ranks would fit" in learner.knob


def test_the_recipes_served_simulator_is_planned_beside_the_policy():
    shape, simulator = read_shape("Qwen/Qwen2.5-7B-Instruct"), read_shape("Qwen/Qwen2.5-72B-Instruct")
    assert simulator.params == pytest.approx(72.7e9, rel=0.002)
    cfg = load_config(RECIPE)
    found = {v.actor: v for v in verdicts(cfg, shape, gpu_gb=80, host_gb=64, simulator=simulator)}
    server = found["simulator server (x1)"]
    assert server.fits and server.where == "vLLM's share of its GPU"
    assert server.need == pytest.approx(2 * simulator.params / 4 + simulator.kv_bytes_per_token(2) * 16384 / 4)
    unsharded = load_config(RECIPE, ["simulator.serve.tensor_parallel_size=1", "simulator.serve.num_gpus=1"])
    alone = next(v for v in verdicts(unsharded, shape, 80, 64, simulator) if v.actor.startswith("simulator"))
    assert not alone.fits and "simulator.serve.tensor_parallel_size" in alone.knob
    assert (
        len(
            verdicts(
                load_config(RECIPE, ["simulator.serve.num_workers=0", "simulator.endpoint=http://h/v1"]), shape, 80, 64, simulator
            )
        )
        == 2
    )


def test_an_unknown_lora_target_is_refused_naming_it():
    with pytest.raises(ValueError, match="'c_attn'"):
        read_shape("Qwen/Qwen2.5-7B-Instruct").lora_params(8, ("c_attn",))
