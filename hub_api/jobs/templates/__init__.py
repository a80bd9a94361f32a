"""Built-in job templates an SME can run without writing code.

Each template is a folder with ``train.py``; at start the hub ships it with ``common.py`` as the
job's Ray ``working_dir``, so it runs on any Ray worker that has PyTorch and NumPy.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

TEMPLATES_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class JobTemplate:
    name: str
    title_ko: str
    title_en: str
    description: str
    entrypoint: str
    default_num_gpus: float = 1.0
    default_time_limit_s: int = 3600
    arguments: dict[str, str] = field(default_factory=dict)

    def materialize(self, destination: Path) -> Path:
        """Copy the template's files into ``destination`` (the job's working dir)."""
        destination.mkdir(parents=True, exist_ok=True)
        shutil.copy2(TEMPLATES_DIR / "common.py", destination / "common.py")
        shutil.copy2(TEMPLATES_DIR / self.name / "train.py", destination / "train.py")
        return destination


TEMPLATES: dict[str, JobTemplate] = {
    template.name: template
    for template in (
        JobTemplate(
            name="defect_classifier",
            title_ko="표면 결함 이미지 분류 (CNN)",
            title_en="Surface defect image classifier (CNN)",
            description=(
                "Trains a small CNN on synthetic 32x32 steel-surface images (ok / scratch / "
                "spot) and reports validation accuracy per epoch."
            ),
            entrypoint="python train.py",
            arguments={"epochs": "5", "samples": "3000"},
        ),
        JobTemplate(
            name="predictive_maintenance",
            title_ko="설비 예지보전 (고장 예측)",
            title_en="Predictive maintenance (failure within 24 h)",
            description=(
                "Trains an MLP on synthetic spindle sensor records (vibration, temperature, "
                "current, speed, tool wear) and reports AUC, precision and recall."
            ),
            entrypoint="python train.py",
            default_num_gpus=0.5,
            arguments={"epochs": "10", "samples": "20000"},
        ),
    )
}
