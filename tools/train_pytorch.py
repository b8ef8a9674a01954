#!/usr/bin/python3
"""Train Pulmo's U-Net with PyTorch, on one CPU or on many GPUs.

The route to a GPU cluster: Pulmo writes the training slices through its one
preprocessing, the model moves as safetensors, and the result comes back:

    pulmo samples --data DATASET --model MODEL.pulmonet --out SAMPLES
    pulmo model export MODEL.pulmonet init.safetensors
    torchrun --nproc_per_node 8 tools/train_pytorch.py --samples SAMPLES \\
        --init init.safetensors --out trained.safetensors --epochs 100
    pulmo model import trained.safetensors trained.pulmonet

The network, its tensor names and the loss (partial labels: each pixel's mask
says which classes its label allows) are Pulmo's; the preprocessing and label
table travel in the safetensors metadata unchanged, so the imported model
segments in Pulmo as it did here. Run by torchrun, it trains with
DistributedDataParallel (NCCL on GPUs, Gloo on CPUs); run alone, in one process.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.distributed as dist

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pulmo_torch import model_from_safetensors, partial_label_loss, save_model  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", required=True, help="folder written by `pulmo samples`")
    parser.add_argument("--init", required=True, help="starting model (`pulmo model export`)")
    parser.add_argument("--out", required=True, help="the trained model, as safetensors")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch", type=int, default=8, help="slices per step and process")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--max-steps", type=int, default=0, help="stop after N steps (0: none)")
    parser.add_argument("--validation", default="", help="comma-separated case ids left out of training")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: PyTorch's choice)")
    parser.add_argument("--predict", help="after training, write every slice's class map (uint8 .npy)")
    return parser.parse_args()


def augment(images, masks, generator):
    """The eight 90-degree rotations and flips, one per batch."""
    k = int(torch.randint(0, 4, (1,), generator=generator))
    images, masks = torch.rot90(images, k, (2, 3)), torch.rot90(masks, k, (1, 2))
    if int(torch.randint(0, 2, (1,), generator=generator)):
        images, masks = torch.flip(images, (3,)), torch.flip(masks, (2,))
    return images, masks


def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    distributed = "WORLD_SIZE" in os.environ
    if distributed:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    rank = dist.get_rank() if distributed else 0
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(args.seed)

    model, metadata = model_from_safetensors(args.init)
    classes = int(metadata["classes"])
    images = np.load(os.path.join(args.samples, "images.npy"), mmap_mode="r")
    masks = np.load(os.path.join(args.samples, "masks.npy"), mmap_mode="r")
    with open(os.path.join(args.samples, "cases.json")) as f:
        cases = json.load(f)["cases"]
    held_out = set(filter(None, args.validation.split(",")))
    train_index = [s for case in cases if case["id"] not in held_out
                   for s in range(case["first_sample"], case["first_sample"] + case["n_samples"])]
    if not train_index:
        sys.exit("train_pytorch: no training slices (every case held out?)")

    model.to(device)
    net = torch.nn.parallel.DistributedDataParallel(model) if distributed else model
    optim = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    sampler = (torch.utils.data.distributed.DistributedSampler(train_index, seed=args.seed)
               if distributed else None)
    generator = torch.Generator().manual_seed(args.seed + rank)
    step = 0
    for epoch in range(args.epochs):
        if sampler is not None:
            sampler.set_epoch(epoch)
            order = [train_index[i] for i in sampler]
        else:
            order = [train_index[i] for i in torch.randperm(len(train_index), generator=generator)]
        net.train()
        for start in range(0, len(order), args.batch):
            batch = sorted(order[start:start + args.batch])
            x = torch.from_numpy(images[batch].astype(np.float32) / 255.0).unsqueeze(1)
            y = torch.from_numpy(masks[batch].astype(np.int64))
            x, y = augment(x, y, generator)
            x, y = x.to(device), y.to(device)
            optim.zero_grad()
            loss = partial_label_loss(net(x), y, classes)
            loss.backward()
            optim.step()
            step += 1
            if rank == 0:
                print(f"epoch {epoch + 1} step {step} loss {loss.item():.4f}", flush=True)
            if args.max_steps and step >= args.max_steps:
                break
        if args.max_steps and step >= args.max_steps:
            break

    if rank == 0:
        save_model(args.out, model, metadata)
        print(f"wrote {args.out}")
        if args.predict:
            model.eval()
            predicted = np.empty(images.shape, dtype=np.uint8)
            with torch.no_grad():
                for start in range(0, len(images), args.batch):
                    x = torch.from_numpy(images[start:start + args.batch].astype(np.float32) / 255.0)
                    logits = model(x.unsqueeze(1).to(device))
                    predicted[start:start + len(x)] = logits.argmax(dim=1).cpu().numpy()
            np.save(args.predict, predicted)
    if distributed:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
