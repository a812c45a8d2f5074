"""What a run and a re-evaluation (`tfmeta verify`) build alike before any training: the run's data and
its compiled method."""

from __future__ import annotations

from dataclasses import dataclass

import keras

from tfmeta import methods
from tfmeta.data import load_class_sets
from tfmeta.harness import evaluation, inner_curves, training
from tfmeta.harness.planning import Plan, RunOptions
from tfmeta.methods.base import check_logits


@dataclass
class RunData:
    """The class sets a run reads and the datasets made from them."""

    class_sets: dict
    test_set: object  # FrozenEpisodes or LakeRuns: `hash`, `query_labels()`
    test_data: object
    validation_data: object


def load_data(the_plan: Plan, options: RunOptions) -> RunData:
    """Prepares the dataset if needed and opens the test and validation episodes."""
    data = the_plan.benchmark.data
    class_sets = load_class_sets(
        data["dataset"], data["split"], the_plan.parts, options.data_dir, options.cache_dir
    )
    the_plan.check_fits(class_sets)
    test_set, test_data = evaluation.load_test_set(the_plan, class_sets, options.data_dir)
    _, validation_data = evaluation.load_validation_set(the_plan, class_sets)
    return RunData(class_sets, test_set, test_data, validation_data)


def accepted_config(method_class: type) -> list[str]:
    """The method-config keys of a method: its constructor's arguments and those its analysis reads."""
    return sorted({*methods.arguments(method_class), *inner_curves.config_keys(method_class)})


def check_method(name: str, config: dict) -> type:
    """The method class of `name`, imported and checked against the method contract, and `config`'s keys
    checked against those it takes (`accepted_config`): what a sweep checks for every method and variant
    before it starts (a run finds a bad key only when it builds the method, after reading the data).

    Raises:
        registries.UnknownMethodError, tfmeta.core.contract.ContractError: for a method that cannot be used.
        methods.MethodConfigError: for a key the method does not take, listing those it does.
    """
    cls = methods.get(name)
    accepted = accepted_config(cls)
    unknown = sorted(set(config) - set(accepted))
    if unknown:
        raise methods.MethodConfigError(
            f"{name.rpartition(':')[2]} takes no argument {', '.join(unknown)}. Its arguments: "
            f"{', '.join(accepted)}"
        )
    return cls


def build_method(the_plan: Plan, method_class: type, method_config: dict, data: RunData):
    """The method, seeded like the episode stream, compiled with the profile's optimizer and built by a
    call on the first validation episode, whose logits are checked against the method contract. The
    config's analysis keys (`inner_curves.CONFIG`) are left to the analysis.

    Raises:
        methods.MethodConfigError: when the constructor or the layers refuse the configuration.
        tfmeta.core.contract.ContractError: when `call` returns logits of another shape than
            `[way * query, way]`.
    """
    keras.utils.set_random_seed(the_plan.train["seed"])  # weight initialisation, like the episode stream
    try:
        method = method_class(**inner_curves.without_analysis(method_class, method_config))
        method.compile(
            optimizer=training.make_optimizer(the_plan.profile["optimizer"], method.meta_batch),
            jit_compile=the_plan.profile.get("jit_compile", False),
            **method.compile_arguments(),
        )
        built = training.build(method, data.validation_data)
    except (TypeError, ValueError) as err:  # an unknown argument, or a value the layers refuse
        raise config_error(the_plan, method_class, method_config, err) from err
    if built is not None:  # the building call is checked: no extra call that could draw randomness
        check_logits(method, *built)
    return method


def config_error(the_plan: Plan, method_class: type, method_config: dict, err: Exception):
    """The `MethodConfigError` of a configuration refused with `err`, listing the keys the method takes."""
    reason = str(err).strip().splitlines()[0][:300].rstrip(".") if str(err).strip() else type(err).__name__
    return methods.MethodConfigError(
        f"{the_plan.method_name} cannot be built with {method_config}: {reason}. Its arguments: "
        f"{', '.join(accepted_config(method_class))}; set them with --config KEY=VALUE or under "
        "method_config in the benchmark spec"
    )
