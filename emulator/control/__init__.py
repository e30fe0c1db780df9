"""The sagemaker control plane (JSON 1.1, `X-Amz-Target: SageMaker.<Operation>`), run by the owner process.

store.py keeps the state, emulator.aws.validation checks requests against botocore's model, operations.py is the
table every operation module registers in, lifecycle.py runs endpoints' containers in the background,
plane.py ties them together and server.py answers HTTP on the owner's internal port.
"""
