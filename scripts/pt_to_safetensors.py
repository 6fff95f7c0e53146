#!/usr/bin/env python3
"""Convert a PyTorch state_dict between a .pt file and a .safetensors file, with torch only.

    pt_to_safetensors.py MODEL.pt MODEL.safetensors    # torch.save'd state_dict -> safetensors
    pt_to_safetensors.py MODEL.safetensors MODEL.pt    # safetensors -> a state_dict for torch.load

The direction follows the output file's extension. `s8net import` reads the safetensors file and
`s8net export` writes one; the safetensors Python package is not needed (nor always packaged), so
the format is written and read here by hand: an 8-byte little-endian header length, a JSON header
padded with spaces to a multiple of 8 bytes, then the tensors' bytes.
"""
import json
import os
import struct
import sys

import torch

_DTYPES = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
}
_TORCH_DTYPES = {name: dtype for dtype, name in _DTYPES.items()}
# The reference implementation's bound on the header, so a damaged length fails before a huge read.
_MAX_HEADER = 100_000_000

if sys.byteorder != "little":
    sys.exit("pt_to_safetensors.py: safetensors values are little-endian; this machine is not")


def _tensor_bytes(tensor):
    flat = tensor.detach().cpu().contiguous().reshape(-1)
    if flat.numel() == 0:
        return b""
    return bytes(flat.view(torch.uint8).tolist())


def write_safetensors(path, tensors, metadata=None):
    """Writes a dict name -> tensor (and an optional dict of string metadata) to path, atomically."""
    header, chunks, offset = {}, [], 0
    for name, tensor in tensors.items():
        if tensor.dtype not in _DTYPES:
            raise ValueError(f"{name}: dtype {tensor.dtype} has no safetensors name here")
        data = _tensor_bytes(tensor)
        header[name] = {"dtype": _DTYPES[tensor.dtype], "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    temporary = f"{path}.tmp.{os.getpid()}"
    with open(temporary, "wb") as out:
        out.write(struct.pack("<Q", len(text)))
        out.write(text)
        for data in chunks:
            out.write(data)
    os.replace(temporary, path)


def read_safetensors(path):
    """Returns (dict name -> tensor, dict of metadata) of a safetensors file."""
    with open(path, "rb") as f:
        content = f.read()
    if len(content) < 8:
        raise ValueError(f"{path}: not a safetensors file (shorter than 8 bytes)")
    (length,) = struct.unpack("<Q", content[:8])
    if length > min(_MAX_HEADER, len(content) - 8):
        raise ValueError(f"{path}: header length {length} does not fit the file")
    header = json.loads(content[8:8 + length])
    buffer = content[8 + length:]
    metadata = header.pop("__metadata__", {}) or {}
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        dtype = _TORCH_DTYPES[info["dtype"]]
        if begin == end:
            tensors[name] = torch.empty(info["shape"], dtype=dtype)
        else:
            tensors[name] = torch.frombuffer(bytearray(buffer[begin:end]), dtype=dtype).reshape(info["shape"])
    return tensors, metadata


def _load_pt(path):
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except TypeError:  # a torch without weights_only
        state = torch.load(path, map_location="cpu")
    if isinstance(state, torch.nn.Module):
        state = state.state_dict()
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path}: not a state_dict (a dict of tensors); save model.state_dict()")
    return state


def main(argv):
    if len(argv) != 3 or argv[1] == argv[2]:
        sys.exit(__doc__)
    source, target = argv[1], argv[2]
    if target.endswith(".safetensors"):
        write_safetensors(target, _load_pt(source), {"format": "pt"})
    elif target.endswith(".pt") or target.endswith(".pth"):
        tensors, _ = read_safetensors(source)
        torch.save(tensors, target)
    else:
        sys.exit("pt_to_safetensors.py: the output must end in .safetensors, .pt or .pth")
    print(f"{target}: written from {source}")


if __name__ == "__main__":
    main(sys.argv)
