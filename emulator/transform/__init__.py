"""SageMaker batch transform as pure Python: the engine talks to the model only through a
TransformTarget, so it runs on real containers and on test fakes alike."""

from emulator.transform.engine import collect_inputs, run_transform
from emulator.transform.errors import (ExecutionParametersError, JobConfigError, TransformError,
                                       TransformJobError)
from emulator.transform.job import (AssembleWith, BatchStrategy, DataProcessing, JoinSource, ModelClientConfig,
                                    SplitType, TransformJob, from_request)
from emulator.transform.params import EffectiveParams, container_environment, resolve_params, with_batch_environment
from emulator.transform.report import FileReport, TransformFailed, TransformReport
from emulator.transform.target import TransformTarget

__all__ = [
    "AssembleWith", "BatchStrategy", "DataProcessing", "EffectiveParams", "ExecutionParametersError",
    "FileReport", "JobConfigError", "JoinSource", "ModelClientConfig", "SplitType",
    "TransformError", "TransformFailed", "TransformJob", "TransformJobError", "TransformReport",
    "TransformTarget", "collect_inputs", "container_environment", "from_request", "resolve_params",
    "run_transform", "with_batch_environment",
]
