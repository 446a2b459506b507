"""Write functions/smgitops/data/sagemaker_shapes.json from the installed botocore.

The declaration is checked against SageMaker's own limits (instance types that exist, the
ranges, patterns and enums of the production fields, ...).
Reading them from botocore's sagemaker model at run time costs a few megabytes and a fraction of
a second at every cold start, so the few values used are copied here once per botocore
upgrade; tests/unit/test_declaration_models.py fails when the copy differs from botocore.

    .venv/bin/python scripts/generate_sagemaker_shapes.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import botocore
from botocore.loaders import Loader

TARGET = Path(__file__).resolve().parents[1] / "functions" / "smgitops" / "data"


# The shapes whose limits the declaration's production fields are checked against (DESIGN §6):
# their min/max (a length, a count or a value), pattern and enum, copied as botocore has them.
LIMITED = (
    "SubnetId",
    "Subnets",
    "SecurityGroupId",
    "VpcSecurityGroupIds",
    "ProductionVariantVolumeSizeInGB",
    "ProductionVariantModelDataDownloadTimeoutInSeconds",
    "ProductionVariantContainerStartupHealthCheckTimeoutInSeconds",
    "RoutingStrategy",
    "ServerlessMemorySizeInMB",
    "ServerlessMaxConcurrency",
    "ServerlessProvisionedConcurrency",
    "SamplingPercentage",
    "DestinationS3Uri",
    "CaptureMode",
    "CaptureOptionList",
    "KmsKeyId",
)
_KEYS = ("min", "max", "pattern", "enum")


def shapes() -> dict[str, Any]:
    model = Loader().load_service_model("sagemaker", "service-2")["shapes"]
    return {
        "botocore": botocore.__version__,
        "ProductionVariantInstanceType": model["ProductionVariantInstanceType"]["enum"],
        "limits": {
            name: {key: model[name][key] for key in _KEYS if key in model[name]} for name in LIMITED
        },
    }


def main() -> int:
    path = TARGET / "sagemaker_shapes.json"
    path.write_text(json.dumps(shapes(), indent=1) + "\n")
    sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
