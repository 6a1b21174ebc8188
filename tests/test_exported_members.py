"""The client's public surface is curated: ``__all__`` lists exactly its public names."""

from worker_manager import client


def test_all_lists_every_public_name_sorted() -> None:
    public = sorted(n for n in dir(client) if not n.startswith("_"))
    assert client.__all__ == sorted(client.__all__)
    assert set(client.__all__) == {n for n in public if n not in {"annotations"}}


def test_exceptions_show_the_public_path() -> None:
    assert client.TxFailed.__module__ == "worker_manager.client"
    assert repr(client.TxRejected(409, "wrong_sequence", "x", {})).startswith("TxRejected(")
