"""The warm start's packed forwards give the gradient one padded forward over the batch gives."""

import torch
from transformers import Qwen2Config, Qwen2ForCausalLM

from workers.policy_model.bootstrap import WARM_START_FORWARD_TOKENS, accumulate_gradient
from workers.rl.micro_batches import pack_by_tokens
from workers.rl.token_logprobs import sequence_batch

PAD = 0


def small_model() -> Qwen2ForCausalLM:
    torch.manual_seed(0)
    config = Qwen2Config(
        vocab_size=64,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        tie_word_embeddings=True,
    )
    return Qwen2ForCausalLM(config).train()


def one_forward_gradient(model, batch: list[list[int]]) -> float:
    ids, mask = sequence_batch(batch, [[1] * len(x) for x in batch], PAD)
    logits = model(input_ids=ids, attention_mask=mask).logits
    loss = torch.nn.functional.cross_entropy(
        logits[:, :-1].reshape(-1, logits.size(-1)), ids[:, 1:].reshape(-1), reduction="none"
    )
    loss = (loss * mask[:, 1:].reshape(-1)).sum() / mask[:, 1:].sum()
    loss.backward()
    return loss.item()


def test_packed_forwards_give_the_batch_gradient_and_loss():
    gen = torch.Generator().manual_seed(1)
    lengths = [5, 300, 17, 250, 40, 90, 3, 120, 200, 60, 33, 280]
    batch = [torch.randint(1, 64, (n,), generator=gen).tolist() for n in lengths]
    assert len(pack_by_tokens(torch.tensor(lengths).numpy(), WARM_START_FORWARD_TOKENS)) > 1

    packed, whole = small_model(), small_model()
    packed_loss = accumulate_gradient(packed, batch, PAD)
    whole_loss = one_forward_gradient(whole, batch)

    assert abs(packed_loss - whole_loss) <= 1e-5 * whole_loss
    for (name, p), q in zip(packed.named_parameters(), whole.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-6, msg=name)
