"""Data capture (DataCaptureConfig): the front's workers sample and hand over captured invocations, the owner
writes them to S3 as SageMaker's JSON-lines capture files."""
