"""Surface-defect image classifier: a small CNN on synthetic 32x32 steel-surface images.

Classes: ``ok`` (texture only), ``scratch`` (a thin bright line), ``spot`` (a dark blob) —
the three most common findings of visual inspection at machining and press shops. The data is
generated with a seed, so the template needs no download. Run: ``python train.py --epochs 5``.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from common import MetricsReporter, describe_device, pick_device
from torch import nn

CLASSES = ("ok", "scratch", "spot")


def make_images(samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(CLASSES), size=samples)
    images = rng.normal(0.5, 0.08, size=(samples, 32, 32)).astype(np.float32)
    yy, xx = np.mgrid[0:32, 0:32]
    for i, label in enumerate(labels):
        if label == 1:  # scratch: a line at a random angle
            angle = rng.uniform(0, np.pi)
            offset = rng.uniform(-8, 8)
            distance = np.abs((xx - 16) * np.sin(angle) - (yy - 16) * np.cos(angle) - offset)
            images[i] += 0.5 * (distance < 0.9)
        elif label == 2:  # spot: a dark blob
            cy, cx = rng.uniform(6, 26, size=2)
            radius = rng.uniform(2, 4.5)
            images[i] -= 0.4 * (((yy - cy) ** 2 + (xx - cx) ** 2) < radius**2)
    return images[:, None, :, :].clip(0, 1), labels.astype(np.int64)


class DefectNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.head = nn.Linear(32 * 8 * 8, len(CLASSES))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--samples", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    device = pick_device()
    reporter = MetricsReporter()
    reporter.params(vars(args) | describe_device(device))

    images, labels = make_images(args.samples, args.seed)
    split = int(0.8 * len(labels))
    x_train = torch.from_numpy(images[:split]).to(device)
    y_train = torch.from_numpy(labels[:split]).to(device)
    x_val = torch.from_numpy(images[split:]).to(device)
    y_val = torch.from_numpy(labels[split:]).to(device)

    model = DefectNet().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(1, args.epochs + 1):
        model.train()
        order = torch.randperm(split, device=device)
        total = 0.0
        for start in range(0, split, args.batch_size):
            batch = order[start : start + args.batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model(x_train[batch]), y_train[batch])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        model.eval()
        with torch.no_grad():
            logits = model(x_val)
            val_loss = loss_fn(logits, y_val).item()
            accuracy = (logits.argmax(1) == y_val).float().mean().item()
        reporter.metrics(
            epoch,
            {"train_loss": total / split, "val_loss": val_loss, "val_accuracy": accuracy},
        )
    reporter.model(model.cpu(), "defect_classifier", images[:2])
    reporter.finish()


if __name__ == "__main__":
    main()
