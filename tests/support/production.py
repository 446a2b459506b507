"""Declarations that use the production fields of DESIGN §6 (shared by unit, integration and
end-to-end tests). Line numbers in comments are those the tests assert."""

from __future__ import annotations

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
ROLE = "arn:aws:iam::123456789012:role/SageMakerExecution"
KMS_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"

FULL = f"""\
apiVersion: smgitops/v1
kind: Endpoint
metadata:
  name: churn-full
spec:
  model:
    image: {IMAGE}
    modelDataUrl: s3://ml-models/churn/v42/model.tar.gz
    executionRoleArn: {ROLE}
    vpc: {{subnets: [subnet-0a1b2c3d4e5f60718, subnet-0b1c2d3e], securityGroups: [sg-0a1b2c3d]}}
    startupHealthCheckTimeout: 10m
    modelDataDownloadTimeout: 20m
  instanceType: ml.p3.2xlarge
  instanceCount: 2
  volumeSizeGB: 100
  routing: leastOutstandingRequests
  dataCapture: {{destination: s3://ml-capture/c/, samplingPercentage: 20, capture: [input, output]}}
  kmsKeyId: {KMS_ARN}
  rollout:
    strategy: canary
    steps: [50]
    interval: 1s
    analysis:
      metrics:
        - {{metric: Invocation5XXErrors, statistic: Sum, max: 5}}
"""
"""Every production field but autoscaling (line 10 vpc, 11-12 timeouts, 15 volumeSizeGB,
16 routing, 17 dataCapture, 18 kmsKeyId)."""

SERVERLESS = f"""\
apiVersion: smgitops/v1
kind: Endpoint
metadata:
  name: churn-serverless
spec:
  model:
    image: {IMAGE}
    modelDataUrl: s3://ml-models/churn/v42/model.tar.gz
    executionRoleArn: {ROLE}
  serverless: {{memorySizeMB: 2048, maxConcurrency: 20, provisionedConcurrency: 2}}
  rollout: {{strategy: allAtOnce, analysis: none}}
"""
"""A serverless endpoint (line 10 serverless, 11 rollout)."""


def edit(text: str, old: str, new: str) -> str:
    """``text`` with the one occurrence of ``old`` replaced (a test's typo fails loudly)."""
    assert text.count(old) == 1, old
    return text.replace(old, new)
