"""smgitops: GitOps for Amazon SageMaker endpoints."""

__version__ = "0.1.0"
