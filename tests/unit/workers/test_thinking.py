import pytest

from workers.env.phrases import phrase_bank
from workers.thinking import policy_system_prompt, visible_reply


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        ("<think>they want to vent</think> Tell me more.", "Tell me more."),
        ("  <think>\nmulti\nline\n</think>\nGo on.", "Go on."),
        ("Tell me more.", None),
        ("<think>no end tag. Tell me more.", None),
        ("<think>thought</think>", None),
        ("<think>a</think> ok <think>b</think> again", None),
        ("Sure. <think>late</think> ok", None),
    ],
)
def test_think_replies_must_open_with_one_closed_block_and_an_answer(text, reply):
    assert visible_reply(text, "think") == reply


def test_plain_replies_pass_through():
    assert visible_reply("  <think>x</think> hi ", "plain") == "<think>x</think> hi"


def test_system_prompts_by_language_and_template():
    assert policy_system_prompt("en", "plain") == phrase_bank().system_prompt
    assert "<think>" in policy_system_prompt("en", "think")
    assert "<think>" in policy_system_prompt("zh", "think") and "<think>" not in policy_system_prompt("zh", "plain")
    with pytest.raises(ValueError, match=r"policy\.template"):
        policy_system_prompt("en", "cot")
