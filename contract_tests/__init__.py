"""The container contract suite: checks that an image serves the way SageMaker expects, before SageMaker tries.

    sagemaker-emulator check IMAGE --model-data model.tar.gz --sample rows.csv
    pytest --pyargs contract_tests --sagemaker-image IMAGE --sagemaker-sample rows.csv
    sagemaker-emulator check --definition pipeline.yaml --sample rows.csv   # also checks the chain

Each failure says what the container did, what SageMaker would do with it, and how to fix it.
"""
