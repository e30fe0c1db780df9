"""The AWS services around SageMaker that a deploy script also calls: S3 (model data, transform
input and output), STS (the caller's account) and CloudWatch Logs (container output).

`embedded` answers them on the emulator's own port when nothing else is configured (moto's server,
in the owner process); `s3` reads and writes S3 through boto3, so real S3, MinIO or LocalStack work
too; `log_shipping` copies container output into CloudWatch Logs.
"""
