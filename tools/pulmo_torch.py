"""Pulmo's U-Net in PyTorch, its model files as safetensors, and its loss.

The network is src/nn/unet.h's, layer for layer and name for name: its
state_dict keys are the tensor names `pulmo model export` writes. Per level
two (3x3 conv without bias -> BN -> ReLU), 2x2 max-pool; bottom; 2x2 stride-2
transposed conv with bias, concat [skip ; up], two (conv -> BN -> ReLU); 1x1
head with bias.

safetensors is read and written here with the standard library and torch
alone (Debian 12 packages no safetensors module): a little-endian u64 header
size, a JSON header, then the tensors. "__metadata__" carries Pulmo's
architecture, preprocessing and labels as strings; they travel unchanged.
"""
import json
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(x)))


class DecoderBlock(Block):
    def __init__(self, cout):
        super().__init__(2 * cout, cout)
        self.up = nn.ConvTranspose2d(2 * cout, cout, 2, stride=2)

    def forward(self, below, skip):
        return super().forward(torch.cat([skip, self.up(below)], dim=1))


class UNet(nn.Module):
    def __init__(self, in_channels, base, depth, classes):
        super().__init__()
        self.depth = depth
        cin = in_channels
        for level in range(depth):
            setattr(self, f"enc{level}", Block(cin, base << level))
            cin = base << level
        self.bottom = Block(cin, base << depth)
        for level in reversed(range(depth)):
            setattr(self, f"dec{level}", DecoderBlock(base << level))
        self.head = nn.Conv2d(base, classes, 1)

    def forward(self, x):
        skips = []
        for level in range(self.depth):
            x = getattr(self, f"enc{level}")(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self.bottom(x)
        for level in reversed(range(self.depth)):
            x = getattr(self, f"dec{level}")(x, skips[level])
        return self.head(x)


def read_safetensors(path):
    """The F32 tensors of a safetensors file, and its metadata."""
    with open(path, "rb") as f:
        data = f.read()
    (header_size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + header_size])
    metadata = header.pop("__metadata__", {})
    body = memoryview(data)[8 + header_size:]
    tensors = {}
    for name, entry in header.items():
        if entry["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name} is {entry['dtype']}, not F32")
        begin, end = entry["data_offsets"]
        values = torch.frombuffer(bytearray(body[begin:end]), dtype=torch.float32)
        tensors[name] = values.reshape(entry["shape"]).clone()
    return tensors, metadata


def write_safetensors(path, tensors, metadata):
    """Writes @tensors (name -> float tensor) with @metadata (str -> str),
    header padded with spaces to 8 bytes, as `pulmo model export` does."""
    header = {"__metadata__": metadata}
    chunks, offset = [], 0
    for name, tensor in tensors.items():
        raw = tensor.detach().to(torch.float32).contiguous().cpu().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in chunks:
            f.write(raw)


def model_from_safetensors(path):
    """A UNet with the file's architecture and weights, and the metadata."""
    tensors, metadata = read_safetensors(path)
    if metadata.get("format") != "pulmonet":
        raise ValueError(f"{path}: not a Pulmo model (no pulmonet metadata)")
    model = UNet(int(metadata["in_channels"]), int(metadata["base"]),
                 int(metadata["depth"]), int(metadata["classes"]))
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    # Pulmo keeps no BN step counters; everything else must match.
    missing = [name for name in missing if not name.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise ValueError(f"{path}: missing {missing}, unexpected {unexpected}")
    return model, metadata


def save_model(path, model, metadata):
    state = {name: value for name, value in model.state_dict().items()
             if not name.endswith("num_batches_tracked")}
    write_safetensors(path, state, metadata)


def partial_label_loss(logits, masks, classes, dice_smooth=1.0):
    """src/nn/loss.h's loss: cross-entropy on the summed probability of the
    classes a pixel's label allows (bit c of @masks: class c), plus batch soft
    Dice on the pixels whose membership in each class is known."""
    bits = torch.arange(classes, device=masks.device)
    allowed = ((masks.long().unsqueeze(1) >> bits.view(1, -1, 1, 1)) & 1).bool()  # N,K,H,W
    n_allowed = allowed.sum(dim=1)
    labelled = (n_allowed > 0) & (n_allowed < classes)
    log_p = F.log_softmax(logits, dim=1)
    log_allowed = torch.logsumexp(log_p.masked_fill(~allowed, float("-inf")), dim=1)
    ce = -(log_allowed[labelled]).mean() if labelled.any() else logits.sum() * 0

    p = log_p.exp()
    known = (n_allowed == 1).unsqueeze(1) | ~allowed        # membership known
    target = (allowed & (n_allowed == 1).unsqueeze(1)).float()
    known_f = known.float()
    inter = (p * target * known_f).sum(dim=(0, 2, 3))
    denom = (p * known_f).sum(dim=(0, 2, 3)) + (target * known_f).sum(dim=(0, 2, 3))
    has_known = known_f.sum(dim=(0, 2, 3)) > 0
    dice = (2 * inter + dice_smooth) / (denom + dice_smooth)
    dice_loss = 1 - dice[has_known].mean() if has_known.any() else logits.sum() * 0
    return ce + dice_loss
