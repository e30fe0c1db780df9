"""The emulator's own errors: each one is a clear paragraph for a person, never a traceback."""


class EmulatorError(Exception):
    """A problem the user can fix; its message says what and how."""


class DefinitionError(EmulatorError):
    """A pipeline definition file is wrong."""

    def __init__(self, source: str, field: str, problem: str, fix: str):
        self.source, self.field, self.problem, self.fix = source, field, problem, fix
        where = f"{source}: {field}" if field else source
        super().__init__(f"{where}: {problem} Fix: {fix}")


class DockerUnavailable(EmulatorError):
    """No Docker engine answers."""


class StartupError(EmulatorError):
    """An endpoint could not start; its containers have been removed. `failures`: each container's, when
    containers failed (emulator.containers.group.ContainerFailure: hostname, image, exit code, last log lines)."""

    def __init__(self, message: str, failures: list | None = None):
        super().__init__(message)
        self.failures = failures or []


class ArtifactError(EmulatorError):
    """A model artifact cannot be used (missing, unsafe or too large)."""
