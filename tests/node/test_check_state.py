"""The ante's view of each account's next sequence (CheckState)."""

from worker_manager.node.ante import CheckState


def test_an_account_marked_stale_after_its_check_is_read_again_not_refused() -> None:
    stored = {"walker": 5}
    state = CheckState(lambda address: stored.get(address, 0), {"walker": 4})
    assert state.next_sequence("walker") == 4
    state.forget(["walker"])  # another node's block, heard between check and reserve
    assert state.reserve("walker", 5)  # the stored sequence: the very next tx
    assert not state.reserve("walker", 5)  # taken now
    assert state.next_sequence("walker") == 6


def test_a_stale_account_still_refuses_a_sequence_already_used() -> None:
    stored = {"walker": 7}
    state = CheckState(lambda address: stored.get(address, 0), {"walker": 5})
    state.forget(["walker"])
    assert not state.reserve("walker", 5)
    assert state.next_sequence("walker") == 7
