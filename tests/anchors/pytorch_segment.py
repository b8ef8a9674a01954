#!/usr/bin/python3
"""The anchor for `pulmo bench segment`: Pulmo's segmentation of a whole CT,
end to end, as it is done in Python with PyTorch.

The same network (pytorch_unet.py) with the same weights, read from the
.pulmonet file (docs/model-format.md), over the same axial slices: nibabel
loads the CT, the slices go through the model's preprocessing (window,
fit by one scale, per-slice min-max in 8-bit steps, OpenCV's CLAHE), PyTorch
runs the network in batches, the probabilities are resampled bilinearly to
the CT's pixels before the decision, SciPy post-processes (two largest lung
components, split where they touch, named by side, small lesion islands,
holes per axial plane) and
nibabel writes the labels in the CT's own storage order. It prints one
"phase seconds" line per phase and "total seconds" at the end.

usage: pytorch_segment.py MODEL.pulmonet CT.nii.gz OUT.nii.gz [--threads N]
"""
import argparse
import os
import struct
import sys
import time
import zlib

import cv2
import nibabel as nib
import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_unet import UNet  # noqa: E402

BATCH = 8


def read_pulmonet(path):
    """The architecture, preprocessing, label values and tensors of a model file."""
    data = open(path, "rb").read()
    if data[:8] != b"PULMONET":
        raise SystemExit(f"{path}: not a Pulmo model file")
    version, _, size, crc = struct.unpack_from("<IIQI", data, 8)
    payload = data[32:32 + size]
    if zlib.crc32(payload) != crc:
        raise SystemExit(f"{path}: CRC mismatch")
    pos = 0

    def take(fmt):
        nonlocal pos
        values = struct.unpack_from("<" + fmt, payload, pos)
        pos += struct.calcsize("<" + fmt)
        return values

    in_channels, base, depth, classes = take("4I")
    hu_low, hu_high, g_low, g_high = take("4f")
    width, height, _slices = take("3I")
    normalisation, clahe_clip, clahe_tiles = (0, 0.0, 8)
    if version >= 2:
        (normalisation,) = take("I")
        (clahe_clip,) = take("f")
        (clahe_tiles,) = take("I")
    (n_labels,) = take("I")
    values = []
    for _ in range(n_labels):
        value, _r, _g, _b, _a, name_len = take("6B")
        pos += name_len
        values.append(value)
    (n_tensors,) = take("I")
    tensors = {}
    for _ in range(n_tensors):
        (name_len,) = take("B")
        name = payload[pos:pos + name_len].decode()
        pos += name_len
        (ndim,) = take("B")
        shape = take(f"{ndim}I")
        count = int(np.prod(shape))
        tensors[name] = torch.from_numpy(
            np.frombuffer(payload, "<f4", count, pos).reshape(shape).copy())
        pos += 4 * count
    return {
        "arch": (in_channels, base, depth, classes), "window": (hu_low, hu_high),
        "size": (width, height), "minmax": normalisation == 1, "clahe": (clahe_clip, clahe_tiles),
        "values": np.array(values, np.uint8), "tensors": tensors,
    }


def fit(src_w, src_h, sx, sy, in_w, in_h):
    """The fitted size and offset of a slice in the input (preprocess.c's fit)."""
    per_mm = min(in_w / (src_w * sx), in_h / (src_h * sy))
    fw, fh = max(1, round(src_w * sx * per_mm)), max(1, round(src_h * sy * per_mm))
    return fw, fh, (in_w - fw) // 2, (in_h - fh) // 2


def preprocess(slices, model, geometry):
    """Float slices (n, h, w) in HU to the network's input (n, 1, H, W)."""
    low, high = model["window"]
    in_w, in_h = model["size"]
    fw, fh, ox, oy = geometry
    x = torch.from_numpy(np.clip(slices, low, high).astype(np.float32))[:, None]
    x = F.interpolate(x, size=(fh, fw), mode="area" if fh < slices.shape[1] else "bilinear")
    x = x[:, 0].numpy()
    lo = x.min(axis=(1, 2), keepdims=True) if model["minmax"] else low
    hi = x.max(axis=(1, 2), keepdims=True) if model["minmax"] else high
    grey = np.rint((x - lo) / np.maximum(hi - lo, 1) * 255).astype(np.uint8)
    clip, tiles = model["clahe"]
    out = np.zeros((len(slices), 1, in_h, in_w), np.float32)
    clahe = cv2.createCLAHE(clip, (tiles, tiles)) if clip > 0 else None
    for i, g in enumerate(grey):
        padded = np.zeros((in_h, in_w), np.uint8)
        padded[oy:oy + fh, ox:ox + fw] = g
        out[i, 0] = (clahe.apply(padded) if clahe else padded) / 255.0
    return torch.from_numpy(out)


def split_lungs(component):
    """Pulmo's split of touching lungs: in-plane erosions (4-neighbour cross)
    until two parts of comparable size fall apart; every voxel then goes to
    the nearer part (Euclidean here, through the region in Pulmo)."""
    six = ndimage.generate_binary_structure(3, 1)
    cross = np.zeros((3, 3, 3), bool)
    cross[1, 1, 1] = cross[0, 1, 1] = cross[2, 1, 1] = cross[1, 0, 1] = cross[1, 2, 1] = True
    eroded = component
    for _ in range(24):
        eroded = ndimage.binary_erosion(eroded, cross)
        if not eroded.any():
            return None
        parts, n = ndimage.label(eroded, six)
        if n < 2:
            continue
        sizes = np.bincount(parts.ravel())[1:]
        order = np.argsort(sizes)[::-1]
        if sizes[order[1]] >= 0.1 * sizes[order[0]]:
            cores = np.zeros(component.shape, np.uint8)
            cores[parts == order[0] + 1] = 1
            cores[parts == order[1] + 1] = 2
            nearest = ndimage.distance_transform_edt(cores == 0, return_distances=False, return_indices=True)
            return [component & (cores[tuple(nearest)] == p) for p in (1, 2)]
    return None


def postprocess(labels, voxel_mm3, lesion_values, lung_values):
    """Pulmo's post-processing in SciPy, in the lung region's box: the two
    largest lung components, or the largest split where the lungs touch,
    named by side (RAS: larger x is right); lesion islands under a 4 mm sphere
    to parenchyma; holes per axial plane."""
    region = np.isin(labels, lung_values + lesion_values)
    out = np.zeros_like(labels)
    box = ndimage.find_objects(region.astype(np.uint8))
    if not box:
        return out
    box = box[0]
    labels, region = labels[box], region[box]
    six = ndimage.generate_binary_structure(3, 1)
    components, n = ndimage.label(region, six)
    sizes = np.bincount(components.ravel())[1:]
    order = np.argsort(sizes)[::-1]
    lungs = [components == k + 1 for k in order[:2]]
    if len(lungs) < 2 or sizes[order[1]] < 0.1 * sizes[order[0]]:
        lungs = split_lungs(lungs[0]) or lungs[:1]
    centres = [ndimage.center_of_mass(lung)[0] + box[0].start for lung in lungs]
    sides = [1, 2] if len(lungs) < 2 or centres[0] > centres[1] else [2, 1]
    lesion = np.isin(labels, lesion_values)
    islands, m = ndimage.label(lesion, six)
    small = np.bincount(islands.ravel()) * voxel_mm3 < 4 / 3 * np.pi * 2 ** 3
    small[0] = False
    lesion &= ~small[islands]
    inner = out[box]
    for lung, side in zip(lungs, sides):
        for z in range(lung.shape[2]):
            lung[:, :, z] = ndimage.binary_fill_holes(lung[:, :, z])
        inner[lung] = side
    inner[lesion & (inner > 0)] = labels[lesion & (inner > 0)]
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("ct")
    parser.add_argument("out")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = read_pulmonet(args.model)
    in_channels, base, depth, classes = model["arch"]
    net = UNet(in_channels, base, depth, classes)
    net.load_state_dict(model["tensors"], strict=False)
    net.eval()
    phases = {}
    total_start = start = time.perf_counter()

    def lap(name):
        nonlocal start
        now = time.perf_counter()
        phases[name] = phases.get(name, 0) + now - start
        start = now

    image = nib.load(args.ct)
    ornt = nib.orientations.io_orientation(image.affine)
    ras = nib.orientations.apply_orientation(np.asanyarray(image.dataobj), ornt)
    lap("load")
    zooms = image.header.get_zooms()[:3]
    spacing = [zooms[int(a)] for a in np.argsort(ornt[:, 0])]
    # Axial display: columns toward the patient's left, rows toward posterior.
    axial = ras[::-1, ::-1, :].transpose(2, 1, 0)
    n, src_h, src_w = axial.shape
    geometry = fit(src_w, src_h, spacing[0], spacing[1], *model["size"])
    fw, fh, ox, oy = geometry
    decided = np.empty((n, src_h, src_w), np.uint8)
    with torch.no_grad():
        for first in range(0, n, BATCH):
            x = preprocess(axial[first:first + BATCH].astype(np.float32), model, geometry)
            lap("preprocessing")
            probabilities = torch.softmax(net(x), dim=1)
            lap("inference")
            inside = probabilities[:, :, oy:oy + fh, ox:ox + fw]
            full = F.interpolate(inside, size=(src_h, src_w), mode="bilinear", align_corners=False)
            decided[first:first + BATCH] = model["values"][full.argmax(dim=1).numpy()]
            lap("resampling")
    labels = decided.transpose(2, 1, 0)[::-1, ::-1, :]
    labels = postprocess(np.ascontiguousarray(labels), float(np.prod(zooms)), [3, 4], [1, 2, 6])
    lap("post-processing")
    back = nib.orientations.ornt_transform(nib.orientations.axcodes2ornt("RAS"), ornt)
    stored = nib.orientations.apply_orientation(labels, back).astype(np.uint8)
    result = nib.Nifti1Image(stored, image.affine, image.header)
    result.set_data_dtype(np.uint8)
    result.header.set_slope_inter(1, 0)
    nib.save(result, args.out)
    lap("save")
    for name, seconds in phases.items():
        print(f"phase {name} {seconds:.3f}")
    print(f"total {time.perf_counter() - total_start:.3f}", flush=True)


if __name__ == "__main__":
    main()
