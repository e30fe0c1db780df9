"""Which copy answers: the serving spec of a variant of several copies and of inference components, the random
pick, the one retry on another copy when a copy answered nothing, and the component an invocation must name."""

from __future__ import annotations

from collections import Counter

import pytest

from emulator.invocation.chain import Route
from emulator.invocation.outcomes import ContainerTimedOut, ContainerUnreachable, InvalidRequest
from emulator.seam.serving import EndpointSpec, build, variant_spec

MISSING_HEADER = ("Inference Component Name header is required for endpoints to which you plan to deploy inference "
                  "components. Please include Inference Component Name header or consider using SageMaker models.")


def copies(*names: str) -> list[tuple[str, list[Route]]]:
    return [(name, [Route("primary", f"http://127.0.0.1:{9000 + index}")]) for index, name in enumerate(names)]


def served(*names: str):
    spec = EndpointSpec("e", (variant_spec("AllTraffic", 1.0, "Serial", copies(*names), 60.0),))
    return build(EndpointSpec.from_json(spec.to_json())).variants[0]


def test_a_spec_of_several_copies_survives_the_table_and_names_each_copy_on_its_chain():
    variant = served("i-1", "i-2", "i-3")
    assert [copy.name for copy in variant.copies] == ["i-1", "i-2", "i-3"]
    assert [copy.chain.instance for copy in variant.copies] == ["i-1", "i-2", "i-3"]
    assert variant.chain is variant.copies[0].chain


def test_a_variant_of_one_copy_is_published_as_before_copies():
    spec = variant_spec("AllTraffic", 1.0, "Serial", copies("i-1"), 60.0)
    assert spec.copies == () and spec.routes == (("primary", "http://127.0.0.1:9000"),)
    variant = served("i-1")
    assert variant.pick().name is None and variant.chain.instance is None


def test_picks_spread_over_every_copy():
    variant = served("i-1", "i-2", "i-3")
    spread = Counter(variant.pick().name for _ in range(3000))
    assert set(spread) == {"i-1", "i-2", "i-3"} and min(spread.values()) > 800


def test_a_copy_that_answered_nothing_is_replaced_once_by_another():
    variant = served("i-1", "i-2")
    asked = []

    def call(chain):
        asked.append(chain.instance)
        if len(asked) == 1:
            raise ContainerUnreachable("e", "primary", "nothing accepts connections on its port")
        return "answer"
    copy, answer = variant.through(call)
    assert answer == "answer" and copy.name == asked[1] and asked[0] != asked[1]


def test_a_copy_that_timed_out_or_was_chosen_by_name_is_not_asked_twice():
    variant = served("i-1", "i-2")
    asked = []

    def times_out(chain):
        asked.append(chain.instance)
        raise ContainerTimedOut("e", "primary")
    with pytest.raises(ContainerTimedOut):
        variant.through(times_out)
    assert len(asked) == 1

    def unreachable(chain):
        asked.append(chain.instance)
        raise ContainerUnreachable("e", "primary", "gone")
    with pytest.raises(ContainerUnreachable):
        variant.through(unreachable, variant.copy("i-2"))
    assert asked[1:] == ["i-2"]


def test_an_endpoint_of_components_needs_the_component_named_in_sagemakers_words():
    component = variant_spec("AllTraffic", 0.0, "Serial", copies("copy-1"), 60.0, component="ic-a")
    endpoint = build(EndpointSpec.from_json(EndpointSpec("e", (), hosts_components=True,
                                                         components=(component,)).to_json()))
    with pytest.raises(InvalidRequest) as refused:
        endpoint.target(None, None)
    assert str(refused.value) == MISSING_HEADER
    target = endpoint.target(None, "ic-a")
    assert (target.name, target.component, target.pick().name) == ("AllTraffic", "ic-a", "copy-1")
    with pytest.raises(InvalidRequest, match="Inference component ic-b is not in service on endpoint e"):
        endpoint.target(None, "ic-b")
    models = build(EndpointSpec("m", (variant_spec("AllTraffic", 1.0, "Serial", copies("i-1"), 60.0),)))
    with pytest.raises(InvalidRequest, match="hosts models, not inference components"):
        models.target(None, "ic-a")
