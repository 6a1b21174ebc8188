"""Secret Network's protocol pieces the node itself needs, below every edge.

Secret's clients encrypt contract messages to the node's x25519 key (HKDF, AES-SIV:
:mod:`.encryption`); the node holds that key, derived from its seed
(:mod:`.node_key`), opens the envelopes at its ante checks (:mod:`.envelopes`) and
answers to the contract addresses those clients default to (:mod:`.aliases`). The
node and the LCD routes both use this package; it uses neither.
"""
