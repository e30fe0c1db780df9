"""An inference component says InService only once the front routes to it (a caller who waits for InService and
then invokes is served): the order of the background work, with a stand-in for the copies' containers."""

from emulator.control.component_copies import ComponentCopies
from emulator.control.plane import INFERENCE_COMPONENT, ControlPlane, key
from emulator.control.store import Store


class StartedCopies:
    count = 1
    on_change = None


def test_a_component_is_published_before_it_says_in_service(tmp_path, monkeypatch):
    plane = ControlPlane(Store(tmp_path))
    plane.store.put(INFERENCE_COMPONENT, key("scorer"), {"Describe": {
        "InferenceComponentName": "scorer", "EndpointName": "shop", "InferenceComponentStatus": "Creating"}})
    seen_at_publish = []

    def publish(endpoint):
        seen_at_publish.append(plane.store.get(INFERENCE_COMPONENT, key("scorer"))["Describe"]["InferenceComponentStatus"])

    copies = ComponentCopies(plane, make_group=None, events=None, spawn=lambda work, name: work(name),
                             publish=publish, drain=lambda groups: None, max_instances=4, progress=print)
    monkeypatch.setattr(copies, "_start", lambda document: StartedCopies())
    copies.create("scorer")
    assert seen_at_publish == ["Creating"]
    assert plane.store.get(INFERENCE_COMPONENT, key("scorer"))["Describe"]["InferenceComponentStatus"] == "InService"
    assert [describe["InferenceComponentName"] for describe, _ in copies.specs("shop")] == ["scorer"]
