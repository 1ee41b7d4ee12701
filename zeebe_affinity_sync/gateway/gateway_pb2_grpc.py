from zeebe_grpc.gateway_pb2_grpc import *  # noqa: F401,F403  (temporary shim)
