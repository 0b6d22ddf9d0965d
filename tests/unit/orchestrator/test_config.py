import pytest

from orchestrator.config import ConfigError, ExperimentConfig, default_config_path, flatten, load_config


def test_demo_config_loads_with_the_required_keys():
    cfg = load_config()
    assert default_config_path().name == "demo.yaml"
    for key in (
        "trainer.steps",
        "tracking.uri",
        "workdir",
        "curriculum.controller",
        "curriculum.initial_difficulty",
        "rollout.group_size",
        "rollout.num_workers",
    ):
        assert key in flatten(cfg)
    assert cfg.policy.model == "tiny" and cfg.simulator.name == "rule"


def test_overrides_are_parsed_as_yaml_values():
    cfg = load_config(None, ["algo.lr=1e-4", "trainer.steps=3", "tracking.run_name=null", "workdir=/tmp/x"])
    assert cfg.algo.lr == 1e-4 and cfg.trainer.steps == 3 and cfg.tracking.run_name is None
    assert cfg.workdir == "/tmp/x"


def test_unknown_key_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"algo\.lrr: unknown key"):
        load_config(None, ["algo.lrr=1"])
    path = tmp_path / "c.yaml"
    path.write_text("trainer:\n  stepz: 3\n")
    with pytest.raises(ConfigError, match=rf"{path.name}.*\n  trainer\.stepz: unknown key"):
        load_config(path)


def test_bad_value_is_named():
    with pytest.raises(ConfigError, match=r"rollout\.group_size: .*greater than or equal to 2"):
        load_config(None, ["rollout.group_size=1"])
    with pytest.raises(ConfigError, match=r"curriculum\.controller"):
        load_config(None, ["curriculum.controller=magic"])


def test_cross_field_rules_give_the_reason():
    with pytest.raises(ConfigError, match=r"band must satisfy 0 < low <= high < 1"):
        load_config(None, ["curriculum.band=[0.8,0.2]"])
    with pytest.raises(ConfigError, match="max_new_tokens"):
        load_config(None, ["rollout.max_new_tokens=300", "policy.max_model_len=512"])
    with pytest.raises(ConfigError, match=r"policy\.lora with storage\.uri is not supported"):
        load_config(None, ["policy.lora={rank: 8}", "storage.uri=s3://bucket/runs"])
    with pytest.raises(ConfigError, match=r"storage\.uri 'ftp://x': unknown scheme"):
        load_config(None, ["storage.uri=ftp://x"])


@pytest.mark.parametrize("item", ["novalue", "=3", "a..b=1", "trainer.steps=[1"])
def test_malformed_overrides_are_errors(item):
    with pytest.raises(ConfigError, match="--set"):
        load_config(None, [item])


def test_override_through_a_scalar_is_an_error():
    with pytest.raises(ConfigError, match="workdir is not a section"):
        load_config(None, ["workdir.x=1"])


def test_missing_and_broken_files_are_named(tmp_path):
    with pytest.raises(ConfigError, match=r"cannot read config file .*nope.yaml"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml is not valid YAML"):
        load_config(bad)


def test_flatten_gives_dotted_keys():
    flat = flatten(ExperimentConfig())
    assert flat["algo.clip_high"] == 0.28 and flat["rollout.backend"] == "vllm"


def test_llm_simulator_needs_an_endpoint_and_a_model():
    with pytest.raises(ConfigError, match=r"simulator: .*needs simulator\.model"):
        load_config(None, ["simulator.name=llm"])
    with pytest.raises(ConfigError, match=r"simulator: .*needs simulator\.endpoint .* or simulator\.serve\.num_workers"):
        load_config(None, ["simulator.name=llm", "simulator.model=m"])
    cfg = load_config(None, ["simulator.name=llm", "simulator.endpoint=http://h:8000/v1", "simulator.model=m"])
    settings = cfg.simulator.llm_settings()
    assert settings is not None and settings.endpoint == "http://h:8000/v1" and settings.api_key_env == "OPENAI_API_KEY"
    assert load_config().simulator.llm_settings() is None


def test_a_served_simulator_needs_the_llm_user_and_no_endpoint_of_its_own():
    with pytest.raises(ConfigError, match=r"simulator\.serve\.num_workers serves the llm user's model: set simulator\.name=llm"):
        load_config(None, ["simulator.serve.num_workers=1"])
    with pytest.raises(ConfigError, match=r"simulator\.endpoint and simulator\.serve\.num_workers both set"):
        load_config(
            None, ["simulator.name=llm", "simulator.model=m", "simulator.endpoint=http://h/v1", "simulator.serve.num_workers=1"]
        )
    with pytest.raises(ConfigError, match=r"serve: .*num_gpus must be 2"):
        load_config(None, ["simulator.serve.tensor_parallel_size=2"])
    cfg = load_config(None, ["simulator.name=llm", "simulator.model=tiny", "simulator.serve.num_workers=2"])
    assert cfg.simulator.serve.enabled and cfg.simulator.endpoint is None


def test_the_pipelined_loop_needs_the_importance_weight_that_corrects_its_lag():
    with pytest.raises(ConfigError, match=r"trainer\.pipeline=one_step_off .* algo\.tis_cap=null .* Set algo\.tis_cap"):
        load_config(None, ["trainer.pipeline=one_step_off", "algo.tis_cap=null"])
    assert load_config(None, ["trainer.pipeline=one_step_off"]).algo.tis_cap == 2.0
    assert load_config(None, ["algo.tis_cap=null"]).trainer.pipeline == "sync"


def test_rule_simulator_refuses_the_chinese_bank():
    with pytest.raises(ConfigError, match="scenarios=en"):
        load_config(None, ["simulator.scenarios=rlver"])


def test_eval_levels_must_be_difficulties():
    with pytest.raises(ConfigError, match=r"trainer: .*eval_levels must lie in \[0, 1\]"):
        load_config(None, ["trainer.eval_levels=[0.2,1.5]"])


def test_the_api_key_itself_is_never_a_config_value():
    assert not any("key" in k and k != "simulator.api_key_env" for k in flatten(load_config()))


def test_every_shipped_config_validates():
    configs = sorted(default_config_path().parent.glob("*.yaml"))
    assert {p.name for p in configs} >= {"demo.yaml", "rlver-qwen2.5-7b.yaml"}
    for path in configs:
        load_config(path)


def test_the_rlver_recipe_is_the_papers_setting():
    cfg = load_config(default_config_path().parent / "rlver-qwen2.5-7b.yaml")
    assert cfg.policy.model == "Qwen/Qwen2.5-7B-Instruct" and cfg.rollout.group_size == 4
    assert cfg.rollout.groups_per_step == 32 and cfg.algo.lr == 1e-6 and cfg.simulator.max_turns == 8
    assert cfg.simulator.name == "llm" and cfg.simulator.scenarios == "rlver"


def test_intents_narrow_the_scenarios_and_unknown_ones_are_named():
    cfg = load_config(None, ["simulator.intents=[listen,advise]"])
    assert {s.intent for s in cfg.simulator.scenarios_of("train")} == {"listen", "advise"}
    assert {s.intent for s in cfg.simulator.scenarios_of("test")} == {"listen", "advise"}
    assert len(load_config(None, ["simulator.intents=null"]).simulator.scenarios_of("train")) == 168
    for bad in ("[listen,cheer]", "[]", "[listen,listen]"):
        with pytest.raises(ConfigError, match=r"simulator\.intents: .*distinct names"):
            load_config(None, [f"simulator.intents={bad}"])


def test_adarft_cannot_steer_by_an_unsigned_signal():
    with pytest.raises(ConfigError, match=r"signal=informative_frac.*adarft"):
        load_config(None, ["curriculum.controller=adarft", "curriculum.signal=informative_frac"])


def test_top_p_below_one_is_refused_with_the_reason():
    with pytest.raises(ConfigError, match=r"rollout\.top_p: .*top_p < 1 is not supported.*off-policy"):
        load_config(None, ["rollout.top_p=0.9"])


def test_a_config_without_lr_gets_rlvers_not_the_toys():
    assert ExperimentConfig().algo.lr == 1e-6 and load_config().algo.lr == 1e-3


@pytest.mark.parametrize(
    ("item", "key"),
    [
        ("algo.loss_agg=mean", "algo.loss_agg"),
        ("algo.clip_ratio_c=1", "algo.clip_ratio_c"),
        ("algo.tis_cap=0", "algo.tis_cap"),
        ("policy.think_violation=ignore", "policy.think_violation"),
    ],
)
def test_algorithm_choices_are_validated(item, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config(None, [item])


def test_the_learner_gets_the_sampling_temperature_and_dr_grpos_constant():
    cfg = load_config(None, ["rollout.temperature=0.7", "simulator.max_turns=4", "rollout.max_new_tokens=30"])
    s = cfg.learner_settings()
    assert s.temperature == 0.7 and s.loss_norm_tokens == 120.0 and s.tis_cap == 2.0 and s.loss_agg == "token-mean"
    assert load_config(None, ["algo.tis_cap=null"]).algo.tis_cap is None


def test_the_learner_takes_the_algo_section_whole_and_a_checkpoints_precision_over_auto():
    cfg = load_config(None, ["algo.lr=0.002", "algo.ppo_epochs=2", "policy.lora={rank: 4}"])
    s = cfg.learner_settings()
    assert s.model_dump(include=set(type(cfg.algo).model_fields)) == cfg.algo.model_dump()
    assert s.lora == cfg.policy.lora and s.precision == "auto" and not s.precision_pinned and s.device == "cpu"
    pinned = cfg.learner_settings("bf16")
    assert pinned.precision == "bf16" and pinned.precision_pinned


LLM = ["simulator.name=llm", "simulator.endpoint=http://127.0.0.1:1/v1", "simulator.model=m"]


def test_the_turn_limit_follows_the_profile_until_set():
    assert load_config(None, LLM).simulator.turn_limit == 3
    rlver = load_config(None, [*LLM, "simulator.profile=rlver"])
    assert rlver.simulator.turn_limit == 8 and rlver.simulator.max_turns is None
    assert load_config(None, [*LLM, "simulator.profile=rlver", "simulator.max_turns=5"]).simulator.turn_limit == 5
    from orchestrator.config import with_overrides

    assert with_overrides(load_config(None, LLM), ["simulator.profile=rlver"]).simulator.turn_limit == 8


def test_the_rlver_profiles_keys_are_refused_where_they_mean_nothing():
    with pytest.raises(ConfigError, match=r"simulator\.profile=rlver is a rule set for an LLM user"):
        load_config(None, ["simulator.profile=rlver"])
    with pytest.raises(ConfigError, match="start_emotion is the rlver profile's"):
        load_config(None, [*LLM, "simulator.start_emotion=40"])
    settings = load_config(None, [*LLM, "simulator.profile=rlver", "simulator.start_emotion=40"]).simulator.llm_settings()
    assert settings is not None and settings.profile == "rlver" and settings.start_emotion == 40


def test_a_rollout_engine_holds_every_dialogue_it_runs_on_one_version_of_the_weights():
    base = ["rollout.groups_per_step=3", "rollout.group_size=2", "trainer.eval_scenarios=5", "trainer.eval_levels=[0.2,0.8]"]
    assert load_config(None, [*base, "trainer.eval_every=0"]).dialogues_between_updates() == 6
    assert load_config(None, [*base, "trainer.eval_every=2"]).dialogues_between_updates() == 6 + 10
    lagged = load_config(None, [*base, "trainer.eval_every=0", "trainer.pipeline=one_step_off"])
    assert lagged.dialogues_between_updates() == 12
    assert lagged.rollout_settings().kv_cache_sequences == 12
    assert lagged.rollout_settings(dialogues=100).kv_cache_sequences == 100
    # Under `think` a turn's history is re-rendered without the thinking: a new prefix a turn.
    think = load_config(None, [*base, "policy.template=think", "simulator.max_turns=4"])
    assert think.kv_cache_sequences(6) == 24
