"""Large-model serving images by name (Hugging Face TGI and its PyTorch DLC, DJL LMI, and their
Neuron builds): resolved from the generated image table like the other frameworks, with the
accelerator and the environment each server needs checked when the file is loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from smgitops.declaration import images
from smgitops.declaration.loader import load_text
from smgitops.declaration.models import Declaration
from smgitops.rollout.decide.resources import resolve_image
from tests.unit.test_declaration_loader import problems_of

FILE = "endpoints/llm.yaml"
ECR = "763104351884.dkr.ecr.us-east-1.amazonaws.com"


def llm(
    framework: str,
    instance_type: str = "ml.g5.12xlarge",
    environment: dict[str, str] | None = None,
    *,
    model_data: bool = False,
    spec_extra: str = "",
) -> str:
    """A declaration serving ``framework`` (a flow mapping) on ``instance_type``."""
    env = environment if environment is not None else {"HF_MODEL_ID": "meta-llama/Llama-3.1-8B"}
    lines = [
        "apiVersion: smgitops/v1",
        "kind: Endpoint",
        "metadata: {name: llama-chat}",
        "spec:",
        "  model:",
        f"    framework: {framework}",
        *(["    modelDataUrl: s3://ml-models/llm/model.tar.gz"] if model_data else []),
        "    executionRoleArn: arn:aws:iam::123456789012:role/SageMakerExecution",
        "    environment:" + ("" if env else " {}"),
        *(f'      {key}: "{value}"' for key, value in env.items()),
        spec_extra or f"  instanceType: {instance_type}",
        "  rollout: {strategy: allAtOnce, analysis: none}",
    ]
    return "\n".join(lines) + "\n"


def line_of(text: str, key: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if line.strip().startswith(key))


def load(text: str) -> Declaration:
    return load_text(text, FILE)


@pytest.mark.parametrize(
    ("framework", "processor", "uri"),
    [
        (
            '{name: huggingface-llm, version: "3.3.6"}',
            "gpu",
            f"{ECR}/huggingface-pytorch-tgi-inference:2.7.0-tgi3.3.6-gpu-py311-cu124-ubuntu22.04",
        ),
        (
            '{name: djl-lmi, version: "0.36.0"}',
            "gpu",
            f"{ECR}/djl-inference:0.36.0-lmi27.0.0-cu130",
        ),
        (
            '{name: huggingface, version: "4.49.0", processor: gpu}',
            "gpu",
            f"{ECR}/huggingface-pytorch-inference:2.6.0-transformers4.49.0-gpu-py312-cu124-ubuntu22.04",
        ),
    ],
)
def test_an_llm_image_resolves_to_the_sdks_image(framework: str, processor: str, uri: str) -> None:
    declaration = load(llm(framework))
    spec = declaration.spec.model.framework
    assert spec is not None and spec.processor == processor  # TGI and LMI default to gpu
    assert resolve_image(declaration.spec.model, "us-east-1") == uri


@pytest.mark.parametrize(
    ("framework", "instance_type"),
    [
        ('{name: huggingface-llm-neuronx, version: "0.3.0"}', "ml.inf2.xlarge"),
        ('{name: huggingface-llm-neuronx, version: "0.3.0"}', "ml.trn1.2xlarge"),
        ('{name: djl-neuronx, version: "0.29.0"}', "ml.inf2.24xlarge"),
    ],
)
def test_a_neuron_image_runs_on_inferentia2_or_trainium(framework: str, instance_type: str) -> None:
    declaration = load(llm(framework, instance_type))
    assert declaration.spec.model.framework is not None
    assert declaration.spec.model.framework.processor == "neuron"
    assert "neuronx" in resolve_image(declaration.spec.model, "us-east-1") or "optimum" in (
        resolve_image(declaration.spec.model, "us-east-1")
    )


@pytest.mark.parametrize(
    ("framework", "instance_type", "needs"),
    [
        ('{name: huggingface-llm, version: "3.3.6"}', "ml.m5.large", "an NVIDIA GPU instance"),
        ('{name: djl-lmi, version: "0.36.0"}', "ml.c5.xlarge", "an NVIDIA GPU instance"),
        ('{name: djl-lmi, version: "0.36.0"}', "ml.inf2.xlarge", "an NVIDIA GPU instance"),
        ('{name: huggingface, version: "4.49.0", processor: gpu}', "ml.m5.large", "NVIDIA"),
        ('{name: huggingface-llm-neuronx, version: "0.3.0"}', "ml.g5.2xlarge", "Inferentia2"),
        ('{name: pytorch, version: "2.1.0", processor: gpu}', "ml.m5.large", "NVIDIA"),
    ],
)
def test_an_accelerator_image_needs_its_accelerator(
    framework: str, instance_type: str, needs: str
) -> None:
    text = llm(framework, instance_type)
    [problem] = problems_of(text, FILE)
    assert problem.startswith(f"{FILE}:{line_of(text, 'instanceType')}: spec.instanceType: ")
    assert needs in problem and instance_type in problem


@pytest.mark.parametrize(
    "instance_type", ["ml.g4dn.xlarge", "ml.g6.2xlarge", "ml.g6e.12xlarge", "ml.p4d.24xlarge",
                      "ml.p5.48xlarge"]
)  # fmt: skip
def test_tgi_runs_on_any_nvidia_gpu_instance(instance_type: str) -> None:
    load(llm('{name: huggingface-llm, version: "3.3.6"}', instance_type))


def test_the_pytorch_dlc_on_cpu_needs_no_gpu() -> None:
    declaration = load(llm('{name: huggingface, version: "4.49.0"}', "ml.m5.xlarge"))
    assert declaration.spec.model.framework is not None
    assert declaration.spec.model.framework.processor == "cpu"  # it has both: cpu by default


@pytest.mark.parametrize(
    "framework",
    [
        '{name: huggingface-llm, version: "3.3.6"}',
        '{name: huggingface, version: "4.49.0"}',
        '{name: djl-lmi, version: "0.36.0"}',
    ],
)
def test_a_server_without_a_model_id_or_model_data_is_refused(framework: str) -> None:
    [problem] = problems_of(llm(framework, environment={}), FILE)
    assert problem.startswith(f"{FILE}:5: spec.model: "), problem  # the line of model:
    assert "HF_MODEL_ID" in problem and "modelDataUrl" in problem
    load(llm(framework, environment={}, model_data=True))  # the artifact names the model


def test_lmi_also_takes_option_model_id() -> None:
    load(llm('{name: djl-lmi, version: "0.36.0"}', environment={"OPTION_MODEL_ID": "s3://m/"}))


@pytest.mark.parametrize(
    ("environment", "fragment"),
    [
        ({"SM_NUM_GPUS": "8"}, "SM_NUM_GPUS=8: ml.g5.12xlarge has 4 GPUs"),
        ({"SM_NUM_GPUS": "0"}, "a whole number of devices, 1 or more"),
        ({"SM_NUM_GPUS": "max"}, "a whole number of devices"),
        ({"MAX_INPUT_TOKENS": "4096", "MAX_TOTAL_TOKENS": "4096"}, "must be below"),
        ({"MAX_INPUT_LENGTH": "8000", "MAX_TOTAL_TOKENS": "4096"}, "must be below"),
        ({"MAX_INPUT_TOKENS": "lots", "MAX_TOTAL_TOKENS": "4096"}, "whole numbers of tokens"),
    ],
)
def test_tgi_settings_the_instance_cannot_honour_are_refused(
    environment: dict[str, str], fragment: str
) -> None:
    env = {"HF_MODEL_ID": "meta-llama/Llama-3.1-8B", **environment}
    [problem] = problems_of(llm('{name: huggingface-llm, version: "3.3.6"}', environment=env), FILE)
    assert problem.startswith(f"{FILE}:") and "spec.instanceType: " in problem, problem
    assert fragment in problem, problem


@pytest.mark.parametrize(
    "environment",
    [
        {"SM_NUM_GPUS": "4", "MAX_INPUT_TOKENS": "4096", "MAX_TOTAL_TOKENS": "8192"},
        {"OPTION_TENSOR_PARALLEL_DEGREE": "max"},
        {"TENSOR_PARALLEL_DEGREE": "4"},
    ],
)
def test_settings_that_fit_the_instance_load(environment: dict[str, str]) -> None:
    env = {"HF_MODEL_ID": "meta-llama/Llama-3.1-8B", **environment}
    load(llm('{name: huggingface-llm, version: "3.3.6"}', environment=env))
    load(llm('{name: djl-lmi, version: "0.36.0"}', environment=env))


def test_lmi_tensor_parallelism_beyond_the_instances_gpus_is_refused() -> None:
    env = {"HF_MODEL_ID": "meta-llama/Llama-3.1-70B", "OPTION_TENSOR_PARALLEL_DEGREE": "8"}
    [problem] = problems_of(llm('{name: djl-lmi, version: "0.36.0"}', environment=env), FILE)
    assert "OPTION_TENSOR_PARALLEL_DEGREE=8: ml.g5.12xlarge has 4 GPUs" in problem


def test_a_gpu_count_the_sdk_does_not_know_is_not_guessed() -> None:
    assert "ml.g6.48xlarge" not in images.table().gpus
    env = {"HF_MODEL_ID": "m", "SM_NUM_GPUS": "8"}
    load(llm('{name: huggingface-llm, version: "3.3.6"}', "ml.g6.48xlarge", env))


def test_serverless_cannot_serve_a_gpu_image() -> None:
    serverless = "  serverless: {memorySizeMB: 6144, maxConcurrency: 5}"
    text = llm('{name: huggingface-llm, version: "3.3.6"}', spec_extra=serverless)
    [problem] = problems_of(text, FILE)
    assert "spec.serverless: serverless inference has no GPU or Neuron device" in problem


@pytest.mark.parametrize(
    ("name", "meant"),
    [("tgi", "huggingface-llm"), ("lmi", "djl-lmi"), ("transformers", "huggingface")],
)
def test_what_people_call_an_image_points_to_its_name(name: str, meant: str) -> None:
    [problem] = problems_of(llm(f'{{name: {name}, version: "3.3.6"}}'), FILE)
    assert f"unknown framework {name!r}; did you mean {meant!r}?" in problem


def test_the_table_knows_gpu_counts_from_the_sdk() -> None:
    gpus = images.table().gpus
    assert gpus["ml.g5.12xlarge"] == 4 and gpus["ml.p4d.24xlarge"] == 8
    assert gpus["ml.g5.2xlarge"] == 1


def test_the_documented_frameworks_are_the_table() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "declarations.md").read_text()
    table = text.split("<!-- frameworks:begin")[1].split("<!-- frameworks:end")[0]
    rows = [line for line in table.splitlines() if line.startswith("| `") and "`name`" not in line]
    assert rows == images.markdown_rows()
