"""The affinity hub wire protocol, implemented once for the hub and for its clients.

Frames are JSON text frames holding one object whose ``"type"`` names the frame. The seed's frames
(``REGISTER_CLIENT``, ``REGISTER_WORKER``, ``PROCESS_OUTCOME``) are kept as they are, so a Node
service on the seed's library can share our hub; the rest are our extensions. ``docs/protocol.md``
is the prose version of this module.

:func:`decode` validates a frame fully and raises :class:`~zeebe_affinity_sync.errors.ProtocolError`
saying what was wrong and what a valid frame looks like; the builders below only ever produce valid
frames.
"""
from __future__ import annotations

import json
from typing import Any, Dict, Iterable, List, Mapping, Optional

from .errors import ProtocolError

__all__ = [
    "PROTOCOL_VERSION",
    "REQUEST_ID_VARIABLE",
    "HELLO",
    "REGISTER_CLIENT",
    "REGISTER_WORKER",
    "SUBSCRIBE",
    "UNSUBSCRIBE",
    "PROCESS_OUTCOME",
    "ACK",
    "ERROR",
    "RECEIPT",
    "DELIVERY_ID",
    "STATUS_OK",
    "STATUS_ERROR",
    "FRAME_TYPES",
    "decode",
    "encode",
    "encode_ack",
    "hello",
    "register_client",
    "register_worker",
    "subscribe",
    "unsubscribe",
    "process_outcome",
    "ack",
    "error",
    "receipt",
    "routing_keys",
    "with_delivery_id",
    "with_delivery_id_utf8",
    "without_trailing_id",
    "encode_utf8",
    "ACK_DELIVERED",
    "ACK_HELD",
    "ACK_PUBLISHED",
    "ERROR_BAD_JSON",
    "ERROR_BAD_FRAME",
    "ERROR_UNKNOWN_TYPE",
    "ERROR_TOO_MANY_SUBSCRIPTIONS",
    "ERROR_HUB_FULL",
    "ERROR_UNSUPPORTED_VERSION",
    "CLOSE_GOING_AWAY",
    "CLOSE_POLICY_VIOLATION",
    "CLOSE_MESSAGE_TOO_BIG",
]

#: Bumped on any incompatible change; sent in ``HELLO`` by both sides.
PROTOCOL_VERSION = 1

#: Process variable holding the per-request routing id (stripped from outcomes callers see).
REQUEST_ID_VARIABLE = "_affinity_request_id"

HELLO = "HELLO"
REGISTER_CLIENT = "REGISTER_CLIENT"
REGISTER_WORKER = "REGISTER_WORKER"
SUBSCRIBE = "SUBSCRIBE"
UNSUBSCRIBE = "UNSUBSCRIBE"
PROCESS_OUTCOME = "PROCESS_OUTCOME"
ACK = "ACK"
ERROR = "ERROR"
#: Client -> hub: "these outcomes are in my hands" (contract C1; see docs/protocol.md).
RECEIPT = "RECEIPT"

#: Field the hub adds to a ``PROCESS_OUTCOME`` sent to a connection whose HELLO said
#: ``"receipts": true``: an opaque id, unique per outcome across hubs, echoed in ``RECEIPT``.
DELIVERY_ID = "deliveryId"

#: Most delivery ids one RECEIPT frame may carry.
MAX_RECEIPT_IDS = 1000

STATUS_OK = "ok"
STATUS_ERROR = "error"

#: ``ACK.status`` for a PROCESS_OUTCOME: handed to a subscriber / held by this hub for
#: ``outcomeTtl`` / stored and published on Redis (scale-out) for any hub's subscriber.
ACK_DELIVERED = "delivered"
ACK_HELD = "held"
ACK_PUBLISHED = "published"

#: ``ERROR.code`` values sent by the hub.
ERROR_BAD_JSON = "bad-json"
ERROR_BAD_FRAME = "bad-frame"
ERROR_UNKNOWN_TYPE = "unknown-type"
ERROR_TOO_MANY_SUBSCRIPTIONS = "too-many-subscriptions"
ERROR_HUB_FULL = "hub-full"
ERROR_UNSUPPORTED_VERSION = "unsupported-version"

#: Websocket close codes the hub uses (RFC 6455 section 7.4.1).
CLOSE_GOING_AWAY = 1001        # the hub is shutting down: reconnect (to another hub)
CLOSE_POLICY_VIOLATION = 1008  # too many bad frames, or missed ping/pong
CLOSE_MESSAGE_TOO_BIG = 1009   # a frame larger than the hub's maxFrameBytes

FRAME_TYPES = frozenset(
    {HELLO, REGISTER_CLIENT, REGISTER_WORKER, SUBSCRIBE, UNSUBSCRIBE, PROCESS_OUTCOME, ACK, ERROR,
     RECEIPT}
)

#: Longest routing key accepted (instance keys are <= 19 digits, request ids are 32 hex chars).
MAX_KEY_LENGTH = 128

Frame = Dict[str, Any]


# --------------------------------------------------------------------------- encode / decode


# One encoder for all frames: json.dumps() with non-default options builds a new encoder on every
# call, which costs more than encoding a small frame.
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_encode_string = json.encoder.encode_basestring  # type: ignore[attr-defined]


_raw_decode = json.JSONDecoder().raw_decode
_JSON_SPACE = " \t\n\r"


def _loads(text: str) -> Any:
    """``json.loads(text)`` for a ``str``, without its two Python layers and two regex matches
    per call (the hub decodes every frame it gets); same values, same errors' kind."""
    start = 0
    if text and text[0] in _JSON_SPACE:
        start = len(text) - len(text.lstrip(_JSON_SPACE))
    value, end = _raw_decode(text, start)
    if end != len(text):
        rest = text[end:]
        if rest.strip(_JSON_SPACE):
            raise json.JSONDecodeError("Extra data", text, end + len(rest) - len(rest.lstrip(_JSON_SPACE)))
    return value


def encode(frame: Mapping[str, Any]) -> str:
    """Serialise a frame to the JSON text sent on the websocket."""
    return _encode(frame)


def encode_ack(frame_id: str, status: Optional[str] = None) -> str:
    """The text of ``ack(frame_id, status=status)``, built without a dict (the hub's hot path)."""
    text = '{"type":"ACK","id":' + _encode_string(str(frame_id))
    if status is not None:
        text += ',"status":' + _encode_string(status)
    return text + "}"


def decode(text: Any) -> Frame:
    """Parse and validate one frame.

    Args:
        text: The websocket message (``str``; ``bytes`` are decoded as UTF-8).

    Returns:
        The frame as a dict. Keys are normalised to strings (``processInstanceKey`` may arrive as
        a JSON number from lenient senders; it is turned into its decimal string).

    Raises:
        ProtocolError: with ``code`` ``bad-json``, ``bad-frame`` or ``unknown-type`` and a message
            that says what was wrong and what to send instead.
    """
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("frame is not UTF-8 text: send JSON text frames", code=ERROR_BAD_JSON)
    if not isinstance(text, str):
        raise ProtocolError("frame must be a JSON text frame", code=ERROR_BAD_JSON)
    try:
        frame = _loads(text)
    except json.JSONDecodeError as exc:
        raise ProtocolError(
            f"frame is not valid JSON ({exc.msg} at char {exc.pos}): "
            'send one JSON object per frame, e.g. {"type":"SUBSCRIBE","keys":["123"]}',
            code=ERROR_BAD_JSON,
        ) from None
    except ValueError as exc:
        # e.g. an integer of more than sys.get_int_max_str_digits() digits
        raise ProtocolError(f"frame cannot be decoded: {exc}", code=ERROR_BAD_JSON) from None
    except RecursionError:
        raise ProtocolError("frame is nested too deeply to decode: flatten it",
                            code=ERROR_BAD_JSON) from None
    if not isinstance(frame, dict):
        raise ProtocolError(
            f"frame must be a JSON object, got {type(frame).__name__}: "
            'e.g. {"type":"REGISTER_CLIENT"}',
            code=ERROR_BAD_FRAME,
        )
    kind = frame.get("type")
    if not isinstance(kind, str) or not kind:
        raise ProtocolError(
            'frame has no "type": add one of ' + ", ".join(sorted(FRAME_TYPES)), code=ERROR_BAD_FRAME
        )
    if kind not in FRAME_TYPES:
        raise ProtocolError(
            f"unknown frame type {kind!r}: expected one of " + ", ".join(sorted(FRAME_TYPES)),
            code=ERROR_UNKNOWN_TYPE,
        )
    validator = _VALIDATORS.get(kind)
    if validator is not None:
        validator(frame)
    return frame


def _key(value: Any, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ProtocolError(f"{what} must be a string (or integer), got {type(value).__name__}")
    key = str(value)
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ProtocolError(f"{what} must be 1 to {MAX_KEY_LENGTH} characters long")
    return key


def _validate_keys(frame: Frame) -> None:
    keys = frame.get("keys")
    if not isinstance(keys, list) or not keys:
        raise ProtocolError(
            f'{frame["type"]} needs "keys": a non-empty list of strings, '
            f'e.g. {{"type":"{frame["type"]}","keys":["2251799813685249"]}}'
        )
    frame["keys"] = [_key(k, "each key") for k in keys]
    if frame.get("id") is not None:
        frame["id"] = _key(frame["id"], "id")


def _validate_outcome(frame: Frame) -> None:
    if "processInstanceKey" not in frame:
        raise ProtocolError(
            'PROCESS_OUTCOME needs "processInstanceKey" (the key as a string) and "variables" '
            "(a JSON object)"
        )
    # Each key field: a string of a valid length passes as it is (the hub's hot path: checked
    # inline); anything else goes through _key, which converts an integer or says what is wrong.
    value = frame["processInstanceKey"]
    if type(value) is not str or not 0 < len(value) <= MAX_KEY_LENGTH:
        frame["processInstanceKey"] = _key(value, "processInstanceKey")
    variables = frame.get("variables", {})
    if variables is None:
        variables = {}
    if type(variables) is not dict:
        raise ProtocolError(
            f'PROCESS_OUTCOME "variables" must be a JSON object, got {type(variables).__name__}'
        )
    frame["variables"] = variables
    for name in ("requestId", "id"):  # optional, the same inline check
        value = frame.get(name)
        if value is not None and (type(value) is not str or not 0 < len(value) <= MAX_KEY_LENGTH):
            frame[name] = _key(value, name)
    status = frame.get("status", STATUS_OK)
    if status not in (STATUS_OK, STATUS_ERROR):
        raise ProtocolError(f'PROCESS_OUTCOME "status" must be "ok" or "error", got {status!r}')


def _validate_ack(frame: Frame) -> None:
    frame["id"] = _key(frame.get("id"), "ACK id")


def _validate_hello(frame: Frame) -> None:
    version = frame.get("version", PROTOCOL_VERSION)
    if isinstance(version, bool) or not isinstance(version, int):
        raise ProtocolError('HELLO "version" must be an integer')
    receipts = frame.get("receipts", False)
    if not isinstance(receipts, bool):
        raise ProtocolError('HELLO "receipts" must be true or false')


def _validate_receipt(frame: Frame) -> None:
    ids = frame.get("deliveryIds")
    if not isinstance(ids, list) or not ids or len(ids) > MAX_RECEIPT_IDS:
        raise ProtocolError(
            f'RECEIPT needs "deliveryIds": a list of 1 to {MAX_RECEIPT_IDS} strings, '
            'e.g. {"type":"RECEIPT","deliveryIds":["3f1c0a9e2b4d-17"]}'
        )
    # The common case (every id a string of a valid length) checked in one pass without a call
    # per id; anything else goes through _key, which converts or says what is wrong.
    for delivery_id in ids:
        if type(delivery_id) is not str or not 0 < len(delivery_id) <= MAX_KEY_LENGTH:
            frame["deliveryIds"] = [_key(i, "each deliveryId") for i in ids]
            return


_VALIDATORS = {
    SUBSCRIBE: _validate_keys,
    UNSUBSCRIBE: _validate_keys,
    PROCESS_OUTCOME: _validate_outcome,
    ACK: _validate_ack,
    HELLO: _validate_hello,
    RECEIPT: _validate_receipt,
}


# --------------------------------------------------------------------------- builders


def hello(role: Optional[str] = None, **extra: Any) -> Frame:
    """``HELLO``: the protocol version (both sides send it; the hub adds its limits)."""
    frame: Frame = {"type": HELLO, "version": PROTOCOL_VERSION}
    if role is not None:
        frame["role"] = role
    frame.update(extra)
    return frame


def register_client() -> Frame:
    """Seed frame: this connection wants outcomes (broadcast to it until it subscribes)."""
    return {"type": REGISTER_CLIENT}


def register_worker() -> Frame:
    """Seed frame: this connection sends outcomes."""
    return {"type": REGISTER_WORKER}


def subscribe(keys: Iterable[Any], frame_id: Optional[str] = None) -> Frame:
    """Deliver outcomes routed under any of ``keys`` to this connection.

    With ``frame_id`` the hub answers ``ACK{id}`` after handing over every outcome it held for
    these keys, so the ACK means "subscribed, and nothing older is waiting".
    """
    frame: Frame = {"type": SUBSCRIBE, "keys": [str(k) for k in keys]}
    if frame_id is not None:
        frame["id"] = str(frame_id)
    return frame


def unsubscribe(keys: Iterable[Any], frame_id: Optional[str] = None) -> Frame:
    """Stop delivering outcomes routed under ``keys`` to this connection (ACKed with ``frame_id``)."""
    frame: Frame = {"type": UNSUBSCRIBE, "keys": [str(k) for k in keys]}
    if frame_id is not None:
        frame["id"] = str(frame_id)
    return frame


def process_outcome(
    process_instance_key: Any,
    variables: Mapping[str, Any],
    *,
    request_id: Optional[str] = None,
    frame_id: Optional[str] = None,
    status: str = STATUS_OK,
) -> Frame:
    """A process outcome, routed by ``requestId`` (if any) and by ``processInstanceKey``.

    Args:
        process_instance_key: The instance whose outcome this is (sent as a string).
        variables: The outcome variables (a JSON object).
        request_id: The requester's per-request id, taken from the reserved variable.
        frame_id: Asks the hub for an ``ACK`` with this id once the outcome is delivered or held.
        status: ``"ok"``, or ``"error"`` for a failure outcome.
    """
    frame: Frame = {
        "type": PROCESS_OUTCOME,
        "processInstanceKey": str(process_instance_key),
        "variables": dict(variables),
    }
    if request_id is not None:
        frame["requestId"] = str(request_id)
    if status != STATUS_OK:
        frame["status"] = status
    if frame_id is not None:
        frame["id"] = str(frame_id)  # last: the hub can cut it out of the text (without_trailing_id)
    return frame


def ack(frame_id: str, **extra: Any) -> Frame:
    """Hub -> worker: the outcome with this id was delivered or is safely held."""
    frame: Frame = {"type": ACK, "id": str(frame_id)}
    frame.update(extra)
    return frame


def error(code: str, message: str, *, frame_id: Optional[str] = None) -> Frame:
    """Either side: what was wrong with a frame (``code`` is machine readable)."""
    frame: Frame = {"type": ERROR, "code": code, "message": message}
    if frame_id is not None:
        frame["id"] = frame_id
    return frame


def receipt(delivery_ids: Iterable[str]) -> Frame:
    """Client -> hub: the outcomes with these delivery ids are in the client's hands."""
    return {"type": RECEIPT, "deliveryIds": [str(i) for i in delivery_ids]}


def routing_keys(frame: Mapping[str, Any]) -> List[str]:
    """The keys a ``PROCESS_OUTCOME`` is routed under: its request id first, then its instance key.

    The request id is ``requestId``, or, when that is absent (a seed worker sends none), the
    reserved variable ``_affinity_request_id`` inside ``variables``.
    """
    keys: List[str] = []
    request_id = frame.get("requestId")
    if not request_id:
        variables = frame.get("variables")
        if isinstance(variables, Mapping):
            candidate = variables.get(REQUEST_ID_VARIABLE)
            if (isinstance(candidate, (str, int)) and not isinstance(candidate, bool)
                    and 0 < len(str(candidate)) <= MAX_KEY_LENGTH):
                request_id = candidate
    if request_id:
        keys.append(str(request_id))
    instance_key = str(frame["processInstanceKey"])
    if instance_key not in keys:
        keys.append(instance_key)
    return keys


def with_delivery_id(text: str, delivery_id: str) -> str:
    """``text`` (an encoded JSON object) with ``"deliveryId"`` added, without re-encoding it."""
    return text[:-1] + ',"' + DELIVERY_ID + '":' + _encode_string(delivery_id) + "}"


_DELIVERY_MEMBER = (',"' + DELIVERY_ID + '":').encode("utf-8")


def with_delivery_id_utf8(data: bytes, delivery_id: str) -> bytes:
    """:func:`with_delivery_id` on the UTF-8 bytes of a frame (no decode, no re-encode)."""
    return b"".join((data[:-1], _DELIVERY_MEMBER, _encode_string(delivery_id).encode("utf-8"), b"}"))


def without_trailing_id(text: str, frame_id: str) -> Optional[str]:
    """The frame ``text`` minus its ``"id"`` member, cut out of the text instead of re-encoding
    the decoded frame; ``None`` unless the text is written the way our senders write it.

    That is: the text ends with ``,"id":<frame_id as a JSON string>}`` and holds no other
    ``"id":``. A valid JSON object whose text ends so has ``"id"`` as the last member of its
    top-level object (the closing quote of the value is the last quote of the document, and a
    value that is a JSON string has no unescaped quote inside), so cutting it leaves the same
    object minus that member. Anything else (another spacing, a numeric id, an ``"id"`` key
    elsewhere, even nested) gets ``None`` and the caller re-encodes: slower, never different.
    """
    suffix = ',"id":' + _encode_string(frame_id) + "}"
    if not text.endswith(suffix):
        return None
    head = text[:-len(suffix)]
    if '"id":' in head:
        return None
    return head + "}"


def encode_utf8(text: str) -> bytes:
    """The UTF-8 bytes of a frame's text.

    Raises:
        ProtocolError: (``bad-frame``) the text holds a lone surrogate (e.g. ``"\\ud800"``
            decoded from valid JSON), which no UTF-8 peer could read.
    """
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise ProtocolError(
            "frame holds a lone UTF-16 surrogate (e.g. \\ud800) that cannot be sent as UTF-8: "
            "remove it from the variables", code=ERROR_BAD_FRAME) from None
