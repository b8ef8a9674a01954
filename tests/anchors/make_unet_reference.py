#!/usr/bin/python3
"""Writes the fixed tiny U-Net and its expected outputs for tests/nn/test-unet.c.

An independent implementation (PyTorch, pytorch_unet.py's network) computes
what Pulmo's C U-Net must reproduce. Run once; the outputs are committed:

  tests/nn/data/unet-tiny.pulmonet   the model, written here in Pulmo's model
                                     format v1 (docs/model-format.md), so the
                                     C loader is also checked against a second
                                     writer
  tests/nn/data/unet-tiny.ref        named float32 arrays, little-endian:
                                     "PULMOREF", u32 count, then per array
                                     u8 name length, name, u32 count, values

Arrays: input (2x3x16x16); eval.logits (eval mode, running statistics);
train.logits (training mode, batch statistics); train.grad_logits (a fixed
upstream gradient G); grad.NAME for every trainable tensor (of sum(logits*G));
after.NAME for every BN running statistic after that one training forward;
adamw.NAME for every trainable tensor after two AdamW steps with those
gradients (lr 0.01, weight decay 0.1 on kernels only, as Pulmo decays).
"""
import os
import struct
import zlib

import torch

from pytorch_unet import UNet

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "nn", "data")

IN_CHANNELS, BASE, DEPTH, CLASSES = 3, 4, 2, 3
LABELS = [(0, "background", (0, 0, 0, 0)),
          (1, "lung", (80, 160, 255, 255)),
          (3, "ground-glass opacity", (255, 200, 0, 255))]


def name_bytes(name):
    b = name.encode("utf-8")
    assert 1 <= len(b) <= 255
    return struct.pack("<B", len(b)) + b


def model_file(model):
    payload = struct.pack("<4I", IN_CHANNELS, BASE, DEPTH, CLASSES)
    payload += struct.pack("<4f3I", -1000.0, 400.0, 0.0, 255.0, 16, 16, IN_CHANNELS)
    payload += struct.pack("<I", len(LABELS))
    for value, name, rgba in LABELS:
        payload += struct.pack("<5B", value, *rgba) + name_bytes(name)
    tensors = [(k, v) for k, v in model.state_dict().items()
               if not k.endswith("num_batches_tracked")]
    payload += struct.pack("<I", len(tensors))
    for name, value in tensors:
        payload += name_bytes(name) + struct.pack("<B", value.dim())
        payload += struct.pack(f"<{value.dim()}I", *value.shape)
        payload += value.detach().contiguous().numpy().astype("<f4").tobytes()
    header = b"PULMONET" + struct.pack("<IIQII", 1, 0, len(payload),
                                       zlib.crc32(payload) & 0xffffffff, 0)
    return header + payload


def reference_file(arrays):
    out = b"PULMOREF" + struct.pack("<I", len(arrays))
    for name, value in arrays:
        flat = value.detach().contiguous().reshape(-1).numpy().astype("<f4")
        out += name_bytes(name) + struct.pack("<I", flat.size) + flat.tobytes()
    return out


def main():
    torch.manual_seed(20261126)
    model = UNet(IN_CHANNELS, BASE, DEPTH, CLASSES)
    # Move BN away from its identity start so that folding and the running
    # statistics are really exercised.
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0, 0.2)
                module.running_mean.normal_(0, 0.2)
                module.running_var.uniform_(0.5, 1.5)
            if isinstance(module, (torch.nn.ConvTranspose2d, torch.nn.Conv2d)) and module.bias is not None:
                module.bias.normal_(0, 0.2)
    model_bytes = model_file(model)

    x = torch.rand(2, IN_CHANNELS, 16, 16) * 2 - 1
    arrays = [("input", x)]
    model.eval()
    with torch.no_grad():
        arrays.append(("eval.logits", model(x)))

    model.train()
    logits = model(x)
    grad = torch.randn_like(logits)
    (logits * grad).sum().backward()
    arrays += [("train.logits", logits), ("train.grad_logits", grad)]
    arrays += [("grad." + name, p.grad) for name, p in model.named_parameters()]
    arrays += [("after." + name, b) for name, b in model.named_buffers()
               if not name.endswith("num_batches_tracked")]

    kernels = [p for p in model.parameters() if p.dim() == 4]
    others = [p for p in model.parameters() if p.dim() != 4]
    optim = torch.optim.AdamW([{"params": kernels, "weight_decay": 0.1},
                               {"params": others, "weight_decay": 0.0}], lr=0.01)
    optim.step()
    optim.step()
    arrays += [("adamw." + name, p) for name, p in model.named_parameters()]

    os.makedirs(DATA, exist_ok=True)
    with open(os.path.join(DATA, "unet-tiny.pulmonet"), "wb") as f:
        f.write(model_bytes)
    with open(os.path.join(DATA, "unet-tiny.ref"), "wb") as f:
        f.write(reference_file(arrays))


if __name__ == "__main__":
    main()
