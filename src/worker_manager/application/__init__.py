"""The application layer: the workflows a node's operator runs, whatever runs them.

The command line parses arguments and prints; the API and the tests call the same
workflows. Each module holds one: creating and inspecting a home (:mod:`.homes`),
serving it (:mod:`.serving`), checking its state against its log
(:mod:`.verifying`) and the attestation material a home keeps
(:mod:`.attestation`). Failures are the typed errors of :mod:`.errors`, so each
caller words them its own way.
"""
