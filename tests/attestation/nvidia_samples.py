"""The NVIDIA samples the GPU tests share: the SecretVM and Hopper evidence, their
device chains, the driver RIM and its signing chain, and a time inside all of them."""

import base64
import json
import re

from cryptography import x509

from worker_manager.attestation.nvidia import parse_gpu_evidence
from worker_manager.attestation.nvidia.spdm import parse_spdm

from .conftest import DATA

NOW = 1751328000  # 2025-07-01, inside the RIM chain's validity
RIM_XML = (DATA / "nvidia" / "NV_GPU_DRIVER_GH100_550.144.03.xml").read_bytes()
SECRETVM = parse_gpu_evidence(json.loads((DATA / "secretvm" / "gpu_attest.txt").read_text()))
HOPPER = parse_gpu_evidence(json.loads((DATA / "nvidia" / "hopper_evidence.json").read_text()))
SV = x509.load_pem_x509_certificates(SECRETVM.items[0].certificate_chain_pem)
HP = x509.load_pem_x509_certificates(HOPPER.items[0].certificate_chain_pem)
RIM_CHAIN = [
    x509.load_der_x509_certificate(base64.b64decode(c))
    for c in re.findall(rb"<ds:X509Certificate>(.*?)</ds:X509Certificate>", RIM_XML, re.S)
]
SV_FWID = parse_spdm(SECRETVM.items[0].evidence).fwid or b""
