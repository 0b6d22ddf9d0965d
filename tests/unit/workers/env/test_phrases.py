"""What the `rule` user takes to have come out of a conversation: the need of the latest cue."""

from workers.env.phrases import detect_intent, phrase_bank


def cue(need: str) -> str:
    return phrase_bank().strategies[need].all_cues[0]


def test_the_latest_message_with_a_cue_names_the_need():
    assert detect_intent([cue("listen"), "thanks.", cue("advise"), "ok."]) == "advise"
    assert detect_intent([cue("advise"), cue("listen")]) == "listen"
    assert detect_intent(["nothing here.", "nor here."]) is None
    assert detect_intent([]) is None


def test_a_message_with_two_cues_names_the_banks_later_need():
    names = list(phrase_bank().strategies)
    first, last = names[0], names[-1]
    assert detect_intent([f"{cue(last)} {cue(first)}"]) == last
    assert detect_intent([f"{cue(first)} {cue(last)}"]) == last
