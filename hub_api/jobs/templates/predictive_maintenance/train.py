"""Predictive maintenance on tabular machine data: will this spindle fail within 24 hours?

Synthetic sensor records (vibration RMS, bearing temperature, motor current, spindle speed,
tool wear minutes) with failures driven by wear, heat and vibration, as in the AI4I 2020 data
set. An MLP learns the failure probability; metrics are AUC, precision and recall on a held-out
split. Run: ``python train.py --epochs 10``.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from common import MetricsReporter, describe_device, pick_device
from torch import nn

FEATURES = ("vibration_rms", "bearing_temp_c", "motor_current_a", "spindle_rpm", "tool_wear_min")


def make_records(samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    wear = rng.uniform(0, 250, samples)
    rpm = rng.normal(1500, 180, samples)
    temp = 35 + 0.05 * wear + rng.normal(0, 3, samples)
    vibration = 0.8 + 0.006 * wear + 0.0004 * np.abs(rpm - 1500) + rng.normal(0, 0.2, samples)
    current = 12 + 0.01 * wear + 0.002 * (rpm - 1500) + rng.normal(0, 0.8, samples)
    risk = 0.03 * (wear - 200) + 0.4 * (temp - 48) + 3.0 * (vibration - 2.3)
    failure = (rng.random(samples) < 1 / (1 + np.exp(-risk))).astype(np.float32)
    features = np.stack([vibration, temp, current, rpm, wear], axis=1).astype(np.float32)
    return features, failure


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve via the rank-sum formula."""
    order = scores.argsort()
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    positives = labels.sum()
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    return float(
        (ranks[labels == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--samples", type=int, default=20000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    device = pick_device()
    reporter = MetricsReporter()
    reporter.params(vars(args) | describe_device(device))

    features, labels = make_records(args.samples, args.seed)
    mean, std = features.mean(0), features.std(0) + 1e-6
    features = (features - mean) / std
    split = int(0.8 * len(labels))
    x_train = torch.from_numpy(features[:split]).to(device)
    y_train = torch.from_numpy(labels[:split]).to(device)
    x_val = torch.from_numpy(features[split:]).to(device)
    y_val = labels[split:]

    model = nn.Sequential(
        nn.Linear(len(FEATURES), 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 1)
    ).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.BCEWithLogitsLoss()
    for epoch in range(1, args.epochs + 1):
        model.train()
        order = torch.randperm(split, device=device)
        total = 0.0
        for start in range(0, split, args.batch_size):
            batch = order[start : start + args.batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model(x_train[batch]).squeeze(1), y_train[batch])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        model.eval()
        with torch.no_grad():
            scores = torch.sigmoid(model(x_val).squeeze(1)).cpu().numpy()
        predicted = scores >= 0.5
        true_positives = float((predicted & (y_val == 1)).sum())
        reporter.metrics(
            epoch,
            {
                "train_loss": total / split,
                "val_auc": auc(scores, y_val),
                "val_precision": true_positives / max(1.0, float(predicted.sum())),
                "val_recall": true_positives / max(1.0, float(y_val.sum())),
            },
        )
    reporter.model(model.cpu(), "predictive_maintenance", features[:2])
    reporter.finish()


if __name__ == "__main__":
    main()
