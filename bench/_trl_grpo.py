"""TRL's GRPOTrainer on one model, single-turn: run by bench/peer_trl.py inside TRL's own virtual
environment (goldilocks is not installed there). Prints one JSON object on its last line.

    python bench/_trl_grpo.py MODEL_DIR STEPS PROMPTS_JSON hf|vllm

`vllm`: TRL generates with vLLM in the training process (`vllm_mode="colocate"`).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time


def main(model_dir: str, steps: int, prompts_json: str, generator: str) -> None:
    import torch
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

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
            bf16=False,
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
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4])
