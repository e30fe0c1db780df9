"""Which state an emulator keeps, as its containers' label (and so `ls`, `prune` and the web page) says it."""

from emulator.containers import labels


def test_a_kept_state_is_its_folder_and_a_file_run_says_it_keeps_none():
    assert labels.state_label("/home/me/state", ["pipeline.yaml"]) == "/home/me/state"
    assert labels.state_label(None, ["a.yaml", "b.yaml"]) == "none kept (a.yaml, b.yaml)"
    assert labels.state_label(None, []) == "none kept"
    assert labels.state_of({}) == "unknown" and labels.state_of({labels.STATE: "/s"}) == "/s"
