from zeebe_grpc.gateway_pb2 import *  # noqa: F401,F403  (temporary shim)
from zeebe_grpc.gateway_pb2 import DESCRIPTOR  # noqa: F401
