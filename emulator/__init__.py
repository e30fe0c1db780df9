"""Run Amazon SageMaker real-time endpoints, inference pipelines and batch transform locally.

Importing this package is cheap and contacts nothing: Docker is reached only when
an endpoint starts.
"""

from emulator.api import EmulatedEndpoint, Emulator, start_endpoints
from emulator.errors import EmulatorError

__all__ = ["EmulatedEndpoint", "Emulator", "EmulatorError", "start_endpoints"]
