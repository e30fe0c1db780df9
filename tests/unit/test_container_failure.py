"""A container's start-up failure, worded once: what it did, on what, and its last lines."""

from emulator.containers.group import ContainerFailure


def test_a_slow_start_states_the_instances_cpu_share():
    failure = ContainerFailure("model", "m:1", timeout=240, cpu_share="2 vCPUs of ml.m5.large")
    assert str(failure) == ("model (m:1) did not pass /ping within 240 s with the 2 vCPUs of ml.m5.large; "
                            "ContainerStartupHealthCheckTimeoutInSeconds is 240. It printed nothing.")
    assert str(ContainerFailure("model", "m:1", timeout=3)).startswith("model (m:1) did not pass /ping within 3 s.")


def test_an_exit_for_memory_says_so():
    text = str(ContainerFailure("model", "m:1", exit_code=137, out_of_memory=True, log_lines="\n    loading"))
    assert text.startswith("model (m:1) exited with code 137 during startup, killed for lack of memory")
    assert text.endswith("Its last log lines:\n    loading")
