"""Protobuf message classes of the served protocols, from a private pool.

The descriptors come from ``descriptors.binpb`` (built from ``proto/``) and are
loaded into a ``DescriptorPool`` of our own, so importing mock-opend next to
``futu``/``moomoo`` (which fill the default pool with same-named files) is safe.
"""

from __future__ import annotations

from importlib import resources
from typing import Final

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message

POOL: Final = descriptor_pool.DescriptorPool()


def _load_pool() -> None:
    raw = resources.files(__package__).joinpath("descriptors.binpb").read_bytes()
    fds = descriptor_pb2.FileDescriptorSet.FromString(raw)
    for fd in fds.file:
        POOL.Add(fd)


_load_pool()


def message_class(full_name: str) -> type[Message]:
    """The concrete class for a message's full name in the private pool."""
    return message_factory.GetMessageClass(POOL.FindMessageTypeByName(full_name))


def enum_values(full_name: str) -> dict[str, int]:
    """Name → number of an enum in the private pool."""
    return {v.name: v.number for v in POOL.FindEnumTypeByName(full_name).values}


ErrorResponse: Final = message_class("mockopend.common.ErrorResponse")

InitConnectRequest: Final = message_class("mockopend.init_connect.Request")
InitConnectResponse: Final = message_class("mockopend.init_connect.Response")

KeepAliveRequest: Final = message_class("mockopend.keep_alive.Request")
KeepAliveResponse: Final = message_class("mockopend.keep_alive.Response")

GlobalStateRequest: Final = message_class("mockopend.global_state.Request")
GlobalStateResponse: Final = message_class("mockopend.global_state.Response")

OptionMarketStatisticRequest: Final = message_class("mockopend.option_market_statistic.Request")
OptionMarketStatisticResponse: Final = message_class("mockopend.option_market_statistic.Response")

RET_TYPE: Final = enum_values("mockopend.common.RetType")
QOT_MARKET_STATE: Final = enum_values("mockopend.qot_common.QotMarketState")
OPTION_MARKET: Final = enum_values("mockopend.option_common.OptionMarket")
OPTION_DATA_TYPE: Final = enum_values("mockopend.option_common.OptionStatisticDataType")
PACKET_ENC_ALGO: Final = enum_values("mockopend.common.PacketEncAlgo")
