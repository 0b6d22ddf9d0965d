"""ChatML rendering, shared by the warm-start corpus, the rollout workers and the chat template.

Dialogues are tokenised segment by segment (a user turn, then the agent's reply) so that the
token ids a rollout samples are exactly the ids the learner scores: no re-tokenisation of the
whole transcript ever happens between generation and learning.
"""

from __future__ import annotations

IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
END_OF_TEXT = "<|endoftext|>"
SPECIAL_TOKENS = (END_OF_TEXT, IM_START, IM_END)

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def opening_segment(system_prompt: str, user_message: str) -> str:
    """Everything before the agent's first reply, ending with the generation prompt."""
    return f"{IM_START}system\n{system_prompt}{IM_END}\n{IM_START}user\n{user_message}{IM_END}\n{IM_START}assistant\n"


def user_segment(user_message: str) -> str:
    """What follows an agent reply (which ends in IM_END): the next user turn and prompt."""
    return f"\n{IM_START}user\n{user_message}{IM_END}\n{IM_START}assistant\n"
