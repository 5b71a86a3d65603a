"""Compile ``proto/`` into the descriptor set the server loads at import.

Why a descriptor set and not ``*_pb2.py``: generated modules carry a protobuf
runtime-version check and register themselves in protobuf's *default* pool,
where the SDKs register their own ``Common.proto`` & co.  A serialized
``FileDescriptorSet`` loaded into a private pool works with any protobuf
runtime from 4.x to 7.x and can never collide with the SDK's descriptors.

Run ``python -m mock_opend.proto_build`` after editing ``proto/`` (needs the
``dev`` extra, which brings ``grpcio-tools``); a test fails when the committed
set and the sources drift.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DESCRIPTOR_SET = PACKAGE_DIR / "descriptors.binpb"
PROTO_ROOT = PACKAGE_DIR.parent / "proto"


def proto_sources(root: Path = PROTO_ROOT) -> list[str]:
    """Every .proto under ``root``, as protoc include-relative names."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.proto"))


def compile_descriptor_set(root: Path = PROTO_ROOT) -> bytes:
    """Run protoc (from grpcio-tools) and return the serialized descriptor set."""
    from grpc_tools import protoc  # dev-only dependency

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "set.binpb"
        args = [
            "protoc",
            f"-I{root}",
            f"--descriptor_set_out={out}",
            "--include_imports",
            *proto_sources(root),
        ]
        rc = protoc.main(args)
        if rc != 0:
            raise RuntimeError(f"protoc failed with exit code {rc}")
        return out.read_bytes()


def main() -> int:
    data = compile_descriptor_set()
    DESCRIPTOR_SET.write_bytes(data)
    print(f"wrote {DESCRIPTOR_SET} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
