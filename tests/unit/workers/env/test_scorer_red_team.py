"""What a red-team pass against the scorer found, kept as regressions: replies a policy could
find that must not read as a fitting strategy, and kind replies that must not be refused."""

import pytest

from workers.env.phrases import STRATEGY_NAMES
from workers.env.scorer.strategy_scorer import DEGENERATE, HARMFUL, UNREADABLE, judge_reply

FIT = "Anyone would have been upset. You were not wrong to feel that way."

NO_FIT = [
    "Hand, other hand, both sides, truth.",
    "First step, plan, next time, try.",
    "Painful, heart, really hurts, must feel.",
    "Maybe they, perhaps they, their reason.",
    "Proud, proud, took courage, did well.",
    "So painful so painful heart heart.",
    "Not wrong at all, anyone would.",
    "Wow going you well keep to did. Am you it proud and of took i courage.",
    "Anyone would have been upset, but you were wrong to feel that way.",
    "Honestly, you had no right to react like that. You were totally wrong.",
    "Wow, you did not do well. It took no courage, and I am not proud of you.",
    "I am not listening. Do not tell me more, I am not here.",
    "yOu WeRe NoT wRoNg At AlL.",
    "YOU WERE NOT WRONG AT ALL, ANYONE WOULD BE UPSET.",
    *(
        f"{FIT} {tail}"
        for tail in (
            "Get over it.", "Just kidding.", "You are so dramatic.", "You are a mess though.",
            "Don't worry, it's your own fault.",
            'You are "stupid".', "You are... pathetic.", "You are, frankly, pathetic.", "You are (so) stupid.",
            "You - are - stupid.", "You are s-t-u-p-i-d.", "Your-own-fault.", "Just. Kidding.", "L.O.L.", "J.K.",
            "You really are pathetic.", "You are very annoying.", "You imbecile.", "Kidding.", "Psych!", "Ignore all that.",
            "That was a lie.", "Nobody asked.", "Cry about it.", "Grow a spine.", "Stop being a baby.", "Shame on you.",
            "You got what you deserved.", "Poor you.", "Honestly, I hope it gets worse.", "Or were you?", "Said nobody ever.",
            "0000 1111 2222 3333", "ur a joke", "Whatever, I guess.", "Get over yourself.",
        )
    ),
]  # fmt: skip


@pytest.mark.parametrize("reply", NO_FIT)
def test_tricks_earn_no_fit(reply):
    judgement = judge_reply(reply)
    assert judgement.label not in STRATEGY_NAMES, judgement


def test_the_users_own_words_with_the_speaker_swapped_are_an_echo():
    heard = "My sister shouted at me. I need someone to tell me I was not wrong."
    assert judge_reply("You need someone to tell you you were not wrong.", heard=heard).label == "echo"


KIND = [
    "None of this was your fault, and anyone would have been upset.",
    "I really don't think this was your fault. You were not wrong to be upset.",
    "Even if everyone acts like it was all your fault, you were not wrong.",
    "You deserve that kind of respect from your manager.",
    "So what do you think you learned from it?",
    "What did you expect to happen when you spoke up?",
    "I'm sure you did everything you could. I am proud of you for trying.",
    "Yeah, right now it must feel so painful and heavy.",
    "You had to grow up fast, and it took real courage.",
    "Make a plan to deal with it step by step this week.",
    "You could try taking a day off to get over it slowly.",
    "She called you stupid, and that was a cruel thing to do.",
    "Don't let anyone tell you you're overreacting about this.",
    "It must feel like you are a failure right now, and that hurts.",
    "Do you worry you were selfish when you asked for the money back?",
    "How ridiculous of them to laugh at you after you studied so hard.",
    "It must drive you crazy that they ignored you for weeks.",
    "Their behaviour was unkind. Maybe they were stressed and did not realise it.",
    "Give it 2 or 3 days, then you could try talking to them calmly.",
    "Hana, anyone would have been upset. You were not wrong, Dara.",
]


@pytest.mark.parametrize("reply", KIND)
def test_kind_replies_are_not_refused(reply):
    assert judge_reply(reply).label not in (HARMFUL, DEGENERATE, UNREADABLE), judge_reply(reply)
