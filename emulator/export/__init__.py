"""Beyond one host: a definition's endpoints as Kubernetes manifests (`sagemaker-emulator export kubernetes`)."""
