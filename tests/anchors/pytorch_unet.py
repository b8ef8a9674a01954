#!/usr/bin/python3
"""The anchor for `pulmo bench nn`: Pulmo's U-Net in PyTorch, measured the same way.

The network is src/nn/unet.h's, layer for layer and name for name
(tools/pulmo_torch.py; its state_dict keys are the tensor names of Pulmo's model files): per level two
(3x3 conv without bias -> BN -> ReLU), 2x2 max-pool; bottom; 2x2 stride-2
transposed conv with bias, concat [skip ; up], two (conv -> BN -> ReLU); 1x1
head with bias. Base 32, depth 4, 1 -> 4 classes: 7,762,564 parameters.

Run alone, it prints its medians ("key value" lines). `pulmo bench nn` runs it
with --serve and alternates single runs of its own with single runs here.
Also imported by make_unet_reference.py.
"""
import argparse
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

# The network itself is tools/pulmo_torch.py's, the one the reference trainer uses.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from pulmo_torch import UNet  # noqa: E402,F401


def seg_loss(logits, target, classes):
    """Cross-entropy plus soft Dice (batch Dice, smooth 1), as Pulmo trains."""
    ce = F.cross_entropy(logits, target)
    probs = torch.softmax(logits, dim=1)
    onehot = F.one_hot(target, classes).permute(0, 3, 1, 2).float()
    inter = (probs * onehot).sum(dim=(0, 2, 3))
    denom = probs.sum(dim=(0, 2, 3)) + onehot.sum(dim=(0, 2, 3))
    dice = 1 - ((2 * inter + 1) / (denom + 1)).mean()
    return ce + dice


def median_ms(fn, iterations, warmup):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def serve(model, args):
    """Answers "infer" and "train" lines on stdin with "ms T" (one inference at
    batch 1, one training step of the whole batch), so that `pulmo bench nn`
    can alternate its own runs with these and both see the same machine."""
    infer_x = torch.rand(1, args.in_channels, args.size, args.size)
    train_x = torch.rand(args.batch, args.in_channels, args.size, args.size)
    target = torch.randint(0, args.classes, (args.batch, args.size, args.size))
    optim = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def infer():
        model.eval()
        with torch.no_grad():
            model(infer_x)

    def train():
        model.train()
        optim.zero_grad(set_to_none=False)
        seg_loss(model(train_x), target, args.classes).backward()
        optim.step()

    commands = {"infer": infer, "train": train}
    print("ready", flush=True)
    for line in sys.stdin:
        fn = commands.get(line.strip())
        if fn is None:
            break
        start = time.perf_counter()
        fn()
        print(f"ms {(time.perf_counter() - start) * 1000:.3f}", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", type=int, default=32)
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--in-channels", type=int, default=1)
    parser.add_argument("--classes", type=int, default=4)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--infer-iters", type=int, default=10)
    parser.add_argument("--train-iters", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--serve", action="store_true",
                        help="answer infer/train commands on stdin (for pulmo bench nn)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = UNet(args.in_channels, args.base, args.depth, args.classes)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"torch_version {torch.__version__}")
    print(f"parameters {n_params}")
    if args.serve:
        serve(model, args)
        return

    if args.infer_iters > 0:
        model.eval()
        x = torch.rand(1, args.in_channels, args.size, args.size)
        with torch.no_grad():
            ms = median_ms(lambda: model(x), args.infer_iters, 2)
        print(f"infer_ms {ms:.3f}")

    if args.train_iters > 0:
        model.train()
        optim = torch.optim.AdamW(model.parameters(), lr=1e-3)
        x = torch.rand(args.batch, args.in_channels, args.size, args.size)
        target = torch.randint(0, args.classes, (args.batch, args.size, args.size))

        def step():
            optim.zero_grad(set_to_none=False)
            loss = seg_loss(model(x), target, args.classes)
            loss.backward()
            optim.step()

        ms = median_ms(step, args.train_iters, 1)
        print(f"train_ms_per_sample {ms / args.batch:.3f}")


if __name__ == "__main__":
    main()
