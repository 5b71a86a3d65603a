"""The committed descriptor set is exactly what protoc makes of proto/."""

from __future__ import annotations

from google.protobuf import descriptor_pb2

from mock_opend.proto_build import DESCRIPTOR_SET, compile_descriptor_set, proto_sources


def test_descriptor_set_matches_the_proto_sources() -> None:
    fresh = descriptor_pb2.FileDescriptorSet.FromString(compile_descriptor_set())
    committed = descriptor_pb2.FileDescriptorSet.FromString(DESCRIPTOR_SET.read_bytes())
    assert [f.name for f in committed.file] == [f.name for f in fresh.file]
    for a, b in zip(committed.file, fresh.file, strict=True):
        assert a == b, f"{a.name} drifted: run `python -m mock_opend.proto_build`"


def test_own_file_and_package_names() -> None:
    """Never the SDK's names (PROTOCOL.md trap 12): mockopend/… in package mockopend.*."""
    committed = descriptor_pb2.FileDescriptorSet.FromString(DESCRIPTOR_SET.read_bytes())
    assert proto_sources()
    for f in committed.file:
        assert f.name.startswith("mockopend/") and f.package.startswith("mockopend.")


def test_field_numbers_match_the_sdk() -> None:
    """Our messages and the SDK's agree on every field number and type."""
    import importlib

    from mock_opend import messages as M

    pairs = {
        "InitConnect_pb2": (M.InitConnectRequest, M.InitConnectResponse),
        "KeepAlive_pb2": (M.KeepAliveRequest, M.KeepAliveResponse),
        "GetGlobalState_pb2": (M.GlobalStateRequest, M.GlobalStateResponse),
        "Qot_GetOptionMarketStatistic_pb2": (M.OptionMarketStatisticRequest, M.OptionMarketStatisticResponse),
    }

    def shape(desc, seen=None):
        seen = seen or set()
        if desc.full_name in seen:
            return {}
        seen.add(desc.full_name)
        out = {}
        for f in desc.fields:
            sub = shape(f.message_type, seen) if f.message_type is not None else None
            default = None if f.is_repeated or f.message_type is not None else f.default_value
            out[f.number] = (f.name, f.type, f.is_required, f.is_repeated, default, sub)
        return out

    for module, ours in pairs.items():
        sdk = importlib.import_module(f"futu.common.pb.{module}")
        for mine, theirs in zip(ours, (sdk.Request, sdk.Response), strict=True):
            a, b = shape(mine.DESCRIPTOR), shape(theirs.DESCRIPTOR)
            assert a == b, module
