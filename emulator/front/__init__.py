"""The HTTP front: the sagemaker-runtime wire protocol, served by gunicorn workers that only forward."""
