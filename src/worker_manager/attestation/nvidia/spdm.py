"""Parse a Hopper GPU's SPDM 1.1 GET_MEASUREMENTS transcript.

The evidence blob is the 37-byte request followed by the response:

=========  ===============================  ==========================================
request    offset: field (size)             notes
=========  ===============================  ==========================================
           0: SPDMVersion (1)               0x11 for SPDM 1.1
           1: RequestResponseCode (1)       0xE0 = GET_MEASUREMENTS
           2: Param1 (1)                    bit 0 set = signature requested
           3: Param2 (1)                    0xFF = all measurements
           4: Nonce (32)                    the verifier's nonce
           36: SlotIDParam (1)
response   0: SPDMVersion (1)               equal to the request's
           1: RequestResponseCode (1)       0x60 = MEASUREMENTS
           2..3: Param1, Param2
           4: NumberOfBlocks (1)
           5: MeasurementRecordLength (3)   little endian
           8: MeasurementRecord (L1)        blocks: index(1) spec(1)=DMTF size(2)
                                            type(1) value_size(2) value
           8+L1: Nonce (32)                 the responder's nonce
           40+L1: OpaqueLength (2)
           42+L1: OpaqueData (L2)           fields: type(2) size(2) data
           42+L1+L2: Signature (96)         ECDSA P-384 r||s
=========  ===============================  ==========================================

The signature covers request || response without the signature, hashed with
SHA-384 (SPDM 1.1 has no signing-context prefix). All multi-byte integers are
little endian. Parsing is strict: every length must add up exactly.
"""

from dataclasses import dataclass

from worker_manager.attestation.errors import AttestationError, Reason

SPDM_1_1 = 0x11
REQUEST_LEN = 37
NONCE_LEN = 32
SIGNATURE_LEN = 96
GET_MEASUREMENTS = 0xE0
MEASUREMENTS = 0x60
DMTF_SPEC = 0x01
OPAQUE_DRIVER_VERSION = 3
OPAQUE_VBIOS_VERSION = 6
OPAQUE_NVDEC0_STATUS = 11
OPAQUE_FWID = 20
NVDEC0_DISABLED = 0x55


def _fail(message: str) -> AttestationError:
    return AttestationError(Reason.GPU_EVIDENCE_MALFORMED, f"SPDM: {message}")


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, size: int, what: str) -> bytes:
        if size < 0 or self.pos + size > len(self.data):
            raise _fail(f"truncated at {what}")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def uint(self, size: int, what: str) -> int:
        return int.from_bytes(self.take(size, what), "little")

    def done(self) -> bool:
        return self.pos == len(self.data)


@dataclass(frozen=True, slots=True)
class SpdmMeasurements:
    """A parsed, not yet verified, GET_MEASUREMENTS transcript."""

    version: int
    request_nonce: bytes
    measurements: dict[int, bytes]
    opaque: dict[int, bytes]
    signed_data: bytes
    signature: bytes

    @property
    def driver_version(self) -> str:
        """Driver version from the opaque data, e.g. ``550.144.03``."""
        raw = self.opaque.get(OPAQUE_DRIVER_VERSION, b"")
        return raw.rstrip(b"\0").decode("ascii", "replace")

    @property
    def vbios_version(self) -> str:
        """VBIOS version as NVIDIA prints it, e.g. ``96.00.9f.00.02``."""
        raw = self.opaque.get(OPAQUE_VBIOS_VERSION, b"")
        if len(raw) != 8:
            return ""
        value = raw[::-1].hex()
        digits = value[8:] + value[6:8]
        return ".".join(digits[i : i + 2] for i in range(0, len(digits), 2))

    @property
    def fwid(self) -> bytes | None:
        """The FWID the GPU reports, or None when the firmware does not send one."""
        return self.opaque.get(OPAQUE_FWID) or None

    @property
    def nvdec0_disabled(self) -> bool:
        """NVDEC0 off: NVIDIA then ignores measurement index 35."""
        return self.opaque.get(OPAQUE_NVDEC0_STATUS) == bytes([NVDEC0_DISABLED])


def _parse_request(request: bytes) -> tuple[int, bytes]:
    if request[0] != SPDM_1_1:
        raise _fail(f"SPDM version 0x{request[0]:02x} is not 1.1 (the signing rule differs)")
    if request[1] != GET_MEASUREMENTS:
        raise _fail("request is not GET_MEASUREMENTS")
    if not request[2] & 1:
        raise _fail("request did not ask for a signature")
    return request[0], request[4 : 4 + NONCE_LEN]


def _parse_record(record: bytes, count: int) -> dict[int, bytes]:
    reader = _Reader(record)
    blocks: dict[int, bytes] = {}
    for _ in range(count):
        index = reader.uint(1, "block index")
        spec = reader.uint(1, "measurement specification")
        size = reader.uint(2, "block size")
        block = _Reader(reader.take(size, "measurement block"))
        if spec != DMTF_SPEC:
            raise _fail(f"block {index} is not a DMTF measurement")
        block.take(1, "value type")
        value = block.take(block.uint(2, "value size"), "value")
        if not block.done():
            raise _fail(f"block {index} has trailing bytes")
        if index in blocks:
            raise _fail(f"block index {index} repeats")
        blocks[index] = value
    if not reader.done():
        raise _fail("measurement record has trailing bytes")
    return blocks


def _parse_opaque(data: bytes) -> dict[int, bytes]:
    reader = _Reader(data)
    fields: dict[int, bytes] = {}
    while not reader.done():
        kind = reader.uint(2, "opaque type")
        value = reader.take(reader.uint(2, "opaque size"), "opaque value")
        if kind in fields:
            raise _fail(f"opaque field {kind} repeats")
        fields[kind] = value
    return fields


def parse_spdm(evidence: bytes) -> SpdmMeasurements:
    """Parse request || response; raise ``gpu_evidence_malformed``."""
    if len(evidence) <= REQUEST_LEN + SIGNATURE_LEN:
        raise _fail("evidence is too short")
    version, nonce = _parse_request(evidence[:REQUEST_LEN])
    reader = _Reader(evidence[REQUEST_LEN:])
    if reader.uint(1, "response version") != version:
        raise _fail("response version differs from the request's")
    if reader.uint(1, "response code") != MEASUREMENTS:
        raise _fail("response is not MEASUREMENTS")
    reader.take(2, "response params")
    count = reader.uint(1, "block count")
    measurements = _parse_record(reader.take(reader.uint(3, "record length"), "record"), count)
    reader.take(NONCE_LEN, "responder nonce")
    opaque = _parse_opaque(reader.take(reader.uint(2, "opaque length"), "opaque data"))
    signature = reader.take(SIGNATURE_LEN, "signature")
    if not reader.done():
        raise _fail("trailing bytes after the signature")
    return SpdmMeasurements(
        version=version,
        request_nonce=nonce,
        measurements=measurements,
        opaque=opaque,
        signed_data=evidence[: len(evidence) - SIGNATURE_LEN],
        signature=signature,
    )
