"""``status_bounds`` (a status as a range of ``last_seen_index``, for the dashboard's
filters and counts) agrees with ``status_of`` for every worker and every state."""

from hypothesis import given
from hypothesis import strategies as st

from worker_manager.contract.liveliness import Status, status_bounds, status_of
from worker_manager.contract.state import Config, LivelinessState, Worker


def _has(bounds: tuple[int | None, int | None] | None, seen: int | None) -> bool:
    if bounds is None or seen is None:
        return False
    least, greatest = bounds
    return (least is None or seen >= least) and (greatest is None or seen <= greatest)


@given(
    up=st.integers(0, 60),
    resume=st.integers(0, 60),
    grace=st.integers(0, 12),
    offline=st.integers(0, 12),
    seen=st.none() | st.integers(-5, 60),
)
def test_the_bounds_give_each_worker_its_status(
    up: int, resume: int, grace: int, offline: int, seen: int | None
) -> None:
    config = Config(admin="a", grace_epochs=grace, offline_after_epochs=offline)
    state = LivelinessState(up_index=up, resume_index=min(resume, up))
    worker = Worker("10.0.0.1", "w", "", "m", last_seen_index=seen)
    bounds = status_bounds(config, state)
    matching = [status for status in Status if _has(bounds[status], seen)]
    if seen is None:  # never answered: offline, and in no range
        assert matching == []
        assert status_of(config, state, worker) is Status.OFFLINE
    else:
        assert matching == [status_of(config, state, worker)]
